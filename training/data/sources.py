"""Explicit lists of the real images we train and evaluate on (paths inside the extracted Debian packages).

Aerial: FlightGear terrain textures that are real aerial/satellite photo crops (credits in the package: Space Imaging
(IKONOS), IBGE, USGS; licence GPL-2+). Excluded on purpose, after looking at every >= 1 MP texture:
  * masks (*-mask.png, *.mask.png) and shading layers (*-relief-light.png, *-overlay.png);
  * recoloured copies of a photo already listed (autumn / madagascar / ireland / caribbean / south variants, the
    non-hires twin of a hires texture), so one photo can never sit in two splits;
  * painted, synthetic or near-flat textures (airport grass, rock*, sand6, dunes*, crop.png, cropgrass.png,
    grass10*, industry-midle-east, the flat orange grassland "large-matched" fills, california-airport*/grass*).
Photos: the wallpaper photographs listed in shared DATA.md (lomiri without umang, mate nature, 11 plasma photos,
palapeli collection).
"""

FG = "flightgear-data-base", "usr/share/games/flightgear/Textures/Terrain"

AERIAL = [
    "australia-bush-dense-hires.png", "australia-cliffs-hires.png", "australia-commercial.png",
    "australia-country-golf.png", "australia-dirt-golf.png", "australia-drycrop-1.png", "australia-drycrop-2.png",
    "australia-drypasture-winter-1.png", "australia-drypasture-winter-2.png", "australia-greenspace.png",
    "australia-heath-hires.png", "australia-outback-scrub-hires.png", "australia-scrub-hires.png",
    "australia_suburbs.png", "caatinga-crop.png", "california-drycrop.png", "california-drycrop2.png",
    "california-forest.png", "california-golf.png", "california-industry.png", "california-mixedcrop.png",
    "california-port.png", "california-rock.png", "california-sand.png", "california-shrub.png",
    "california-shrub2.png", "california-town.png", "california-town2.png", "cemetery.png", "cerrado-crop.png",
    "cerrado-crop2.png", "cerrado-generic.png", "cerrado-scrub.png", "cerrado-shrub-green.png",
    "coniferous_forest.png", "countryside1.green.png", "countryside2.green.png", "countryside3.green.png",
    "countryside4.green.png", "cropgrass-hires.png", "deciduous-hires.png", "desert-airport2.png", "drycrop.png",
    "forest.png", "irrcrop-europe.png", "irrcrop.png", "mixedcrop.png", "mixedforest-hires.png", "orchard.png",
    "pampas-shrub.png", "pantanal.png", "shrub-hawaii-green.png", "shrub-southwest.png", "shrub1.png",
    "town-europe.png", "town-middle-east.png", "uk_countryside1.png", "uk_countryside2.png",
]

LOMIRI = [
    "Bridge_by_Sander_Klootwijk.jpg", "Dragonfly_by_Bolly.jpg", "Picture_0B_by_freespace.jpg",
    "Picture_1A_by_freespace.jpg", "Wine_by_Jakkub_Mede.jpg", "aitzgorri_by_Aitzol_Berasategi.jpg",
    "analogpattern_by_Peter_Nerlich.jpg", "free_by_Peter_Nerlich.jpg", "friends_by_Aitzol_Berasategi.jpg",
    "greentock_by_Peter_Nerlich.jpg", "life_by_Aitzol_Berasategi.jpg", "picosdeeuropa_by_Aitzol_Berasategi.jpg",
    "seeding_by_Clements_Engelhardt.jpg", "sunset_by_Aitzol_Berasategi.jpg",
]
MATE = ["Aqua.jpg", "Blinds.jpg", "Dune.jpg", "FreshFlower.jpg", "Garden.jpg", "GreenMeadow.jpg", "LadyBird.jpg",
        "RainDrops.jpg", "Storm.jpg", "TwoWings.jpg", "Wood.jpg", "YellowFlower.jpg"]
PLASMA = ["BytheWater", "ColdRipple", "ColorfulCups", "DarkestHour", "EveningGlow", "FallenLeaf", "Grey", "Kite",
          "OneStandsOut", "Path", "summer_1am"]
PALAPELI = ["castle-maintenon.jpg", "cincinnati-bridge.jpg", "citrus-fruits.jpg", "european-honey-bee.jpg",
            "panther-chameleon-female.jpg"]


def sources():
    """Returns {domain: [(package, relative path inside raw/<package>/), ...]}."""
    photo = [("lomiri-wallpapers-16.04", f"usr/share/backgrounds/{f}") for f in LOMIRI]
    photo += [("mate-backgrounds", f"usr/share/backgrounds/mate/nature/{f}") for f in MATE]
    photo += [("plasma-workspace-wallpapers", f"usr/share/wallpapers/{d}/contents/images/2560x1600.jpg") for d in PLASMA]
    photo += [("palapeli-data", f"usr/share/palapeli/collection/{f}") for f in PALAPELI]
    aerial = [(FG[0], f"{FG[1]}/{f}") for f in AERIAL]
    return {"aerial": aerial, "photo": photo}
