/** Per-pixel result of an ensemble: the voted class and two uncertainty measures. */
export interface EnsembleVote {
  /** The class most members predict; a tie goes to the tied class with the highest mean probability. */
  labels: Uint8Array;
  /** Entropy of the members' mean class distribution, in nats (0 = certain; ln C = uniform). */
  entropy: Float32Array;
  /** Mutual information between prediction and member (entropy of the mean minus the mean member entropy): disagreement. */
  mutualInformation: Float32Array;
  /** Mean probability of each class, [n, classes]. */
  meanProbabilities: Float32Array;
}

/**
 * Combines member probabilities [members, n, classes] into a vote and uncertainty per pixel (Baranchuk et al. 2022:
 * majority vote; uncertainty as the entropy of the mean softmax).
 */
export function voteEnsemble(probabilities: Float32Array, members: number, n: number, classes: number): EnsembleVote {
  if (probabilities.length !== members * n * classes) {
    throw new RangeError(`Expected ${members * n * classes} probabilities, got ${probabilities.length}`);
  }
  const labels = new Uint8Array(n);
  const entropy = new Float32Array(n);
  const mutualInformation = new Float32Array(n);
  const meanProbabilities = new Float32Array(n * classes);
  const votes = new Int32Array(classes);
  for (let i = 0; i < n; i++) {
    votes.fill(0);
    let memberEntropy = 0;
    const mean = meanProbabilities.subarray(i * classes, (i + 1) * classes);
    for (let m = 0; m < members; m++) {
      const row = (m * n + i) * classes;
      let best = 0;
      for (let c = 0; c < classes; c++) {
        const p = probabilities[row + c]!;
        mean[c]! += p / members;
        if (p > probabilities[row + best]!) best = c;
        if (p > 0) memberEntropy -= (p * Math.log(p)) / members;
      }
      votes[best]!++;
    }
    let winner = 0;
    let h = 0;
    for (let c = 0; c < classes; c++) {
      if (votes[c]! > votes[winner]! || (votes[c] === votes[winner] && mean[c]! > mean[winner]!)) winner = c;
      if (mean[c]! > 0) h -= mean[c]! * Math.log(mean[c]!);
    }
    labels[i] = winner;
    entropy[i] = h;
    mutualInformation[i] = Math.max(0, h - memberEntropy);
  }
  return { labels, entropy, mutualInformation, meanProbabilities };
}
