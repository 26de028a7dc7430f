//! The raid: 20 players with classes, roles, pets, abilities and gear.

use rand::Rng;
use rand::rngs::SmallRng;

/// What a player mostly does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Tank,
    Healer,
    Melee,
    Ranged,
}

/// A class template: spec id (retail), role, abilities, and whether it brings a pet.
struct Template {
    class: &'static str,
    spec_id: i32,
    role: Role,
    pet: Option<&'static str>,
    guardian: Option<(i32, &'static str)>,
    spells: [(i32, &'static str, u32); 3],
}

const TEMPLATES: [Template; 10] = [
    Template {
        class: "Warrior",
        spec_id: 73,
        role: Role::Tank,
        pet: None,
        guardian: None,
        spells: [(23922, "Shield Slam", 1), (6572, "Revenge", 1), (6343, "Thunder Clap", 1)],
    },
    Template {
        class: "Paladin",
        spec_id: 65,
        role: Role::Healer,
        pet: None,
        guardian: None,
        spells: [(20473, "Holy Shock", 2), (82326, "Holy Light", 2), (85222, "Light of Dawn", 2)],
    },
    Template {
        class: "Priest",
        spec_id: 256,
        role: Role::Healer,
        pet: None,
        guardian: Some((34433, "Shadowfiend")),
        spells: [(17, "Power Word: Shield", 2), (47540, "Penance", 2), (585, "Smite", 2)],
    },
    Template {
        class: "Shaman",
        spec_id: 264,
        role: Role::Healer,
        pet: None,
        guardian: Some((5394, "Healing Stream Totem")),
        spells: [(61295, "Riptide", 8), (1064, "Chain Heal", 8), (188196, "Lightning Bolt", 8)],
    },
    Template {
        class: "Hunter",
        spec_id: 253,
        role: Role::Ranged,
        pet: Some("Wolf"),
        guardian: None,
        spells: [(34026, "Kill Command", 1), (193455, "Cobra Shot", 1), (217200, "Barbed Shot", 1)],
    },
    Template {
        class: "Warlock",
        spec_id: 265,
        role: Role::Ranged,
        pet: Some("Felhunter"),
        guardian: Some((205180, "Darkglare")),
        spells: [(172, "Corruption", 32), (980, "Agony", 32), (686, "Shadow Bolt", 32)],
    },
    Template {
        class: "Mage",
        spec_id: 63,
        role: Role::Ranged,
        pet: None,
        guardian: None,
        spells: [(133, "Fireball", 4), (11366, "Pyroblast", 4), (108853, "Fire Blast", 4)],
    },
    Template {
        class: "Rogue",
        spec_id: 259,
        role: Role::Melee,
        pet: None,
        guardian: None,
        spells: [(1329, "Mutilate", 1), (703, "Garrote", 1), (32645, "Envenom", 8)],
    },
    Template {
        class: "Death Knight",
        spec_id: 252,
        role: Role::Melee,
        pet: Some("Ghoul"),
        guardian: None,
        spells: [
            (85948, "Festering Strike", 1),
            (55090, "Scourge Strike", 32),
            (191587, "Virulent Plague", 32),
        ],
    },
    Template {
        class: "Druid",
        spec_id: 102,
        role: Role::Ranged,
        pet: None,
        guardian: None,
        spells: [(190984, "Wrath", 8), (194153, "Starfire", 64), (8921, "Moonfire", 64)],
    },
];

/// Composition of a 20-player raid: indexes into `TEMPLATES`.
const COMPOSITION: [usize; 20] = [0, 0, 1, 2, 3, 1, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 6, 4];

const NAMES: [&str; 20] = [
    "Thrall",
    "Jaina",
    "Anduin",
    "Sylvanas",
    "Velen",
    "Tyrande",
    "Malfurion",
    "Khadgar",
    "Alleria",
    "Turalyon",
    "Valeera",
    "Rexxar",
    "Chen",
    "Brann",
    "Magni",
    "Moira",
    "Liadrin",
    "Lorthemar",
    "Baine",
    "Kaelthas",
];

/// One raider.
#[derive(Debug, Clone)]
pub struct Player {
    pub guid: String,
    pub name: String,
    pub class: &'static str,
    pub spec_id: i32,
    pub role: Role,
    pub spells: [(i32, &'static str, u32); 3],
    pub pet: Option<(String, String)>,
    pub guardian: Option<(i32, &'static str)>,
    pub item_levels: Vec<i32>,
    pub max_hp: i64,
}

impl Player {
    /// Mean item level of the non-cosmetic slots (the shirt and tabard are written with
    /// item level 1 and must not count).
    pub fn average_item_level(&self) -> f64 {
        let counted: Vec<i32> = self
            .item_levels
            .iter()
            .enumerate()
            .filter(|(slot, _)| *slot != 3 && *slot != 18)
            .map(|(_, l)| *l)
            .collect();
        counted.iter().map(|&l| f64::from(l)).sum::<f64>() / counted.len() as f64
    }
}

/// Builds the raid from the seed.
pub fn raid(rng: &mut SmallRng, realm: &str, realm_id: u32) -> Vec<Player> {
    COMPOSITION
        .iter()
        .enumerate()
        .map(|(i, &t)| {
            let template = &TEMPLATES[t];
            let serial: u32 = rng.random_range(0x0100_0000..0x0FFF_FFFF);
            let guid = format!("Player-{realm_id}-{serial:08X}");
            let pet = template.pet.map(|pet_name| {
                let pet_serial: u64 = rng.random_range(0x01_0000_0000..0x0F_FFFF_FFFF);
                (format!("Pet-0-3135-2657-{}-165189-{pet_serial:010X}", 1000 + i), pet_name.to_string())
            });
            let base_level = rng.random_range(610..=626);
            let item_levels = (0..19)
                .map(|slot| if slot == 3 || slot == 18 { 1 } else { base_level + rng.random_range(-6..=6) })
                .collect();
            Player {
                guid,
                name: format!("{}-{realm}", NAMES[i]),
                class: template.class,
                spec_id: template.spec_id,
                role: template.role,
                spells: template.spells,
                pet,
                guardian: template.guardian,
                item_levels,
                max_hp: if template.role == Role::Tank { 9_000_000 } else { 5_500_000 },
            }
        })
        .collect()
}

/// A boss of the raid instance.
pub struct Boss {
    pub encounter_id: i32,
    pub name: &'static str,
    pub npc_id: u32,
    pub abilities: [(i32, &'static str, u32); 2],
}

/// Nerub-ar Palace, with real encounter ids.
pub const BOSSES: [Boss; 8] = [
    Boss {
        encounter_id: 2902,
        name: "Ulgrax the Devourer",
        npc_id: 215657,
        abilities: [(435136, "Venomous Lash", 8), (434697, "Brutal Crush", 1)],
    },
    Boss {
        encounter_id: 2917,
        name: "The Bloodbound Horror",
        npc_id: 214502,
        abilities: [(444363, "Gruesome Disgorge", 32), (443042, "Grasp From Beyond", 32)],
    },
    Boss {
        encounter_id: 2898,
        name: "Sikran, Captain of the Sureki",
        npc_id: 214503,
        abilities: [(433517, "Phase Blades", 1), (442428, "Decimate", 1)],
    },
    Boss {
        encounter_id: 2918,
        name: "Rasha'nan",
        npc_id: 214504,
        abilities: [(439789, "Rolling Acid", 8), (455373, "Infested Spawn", 8)],
    },
    Boss {
        encounter_id: 2919,
        name: "Broodtwister Ovi'nax",
        npc_id: 214506,
        abilities: [(442526, "Experimental Dosage", 8), (441362, "Volatile Concoction", 8)],
    },
    Boss {
        encounter_id: 2920,
        name: "Nexus-Princess Ky'veza",
        npc_id: 217748,
        abilities: [(437620, "Nether Rift", 32), (438245, "Twilight Massacre", 32)],
    },
    Boss {
        encounter_id: 2921,
        name: "The Silken Court",
        npc_id: 217489,
        abilities: [(438218, "Piercing Strike", 1), (440504, "Impaling Eruption", 1)],
    },
    Boss {
        encounter_id: 2922,
        name: "Queen Ansurek",
        npc_id: 218370,
        abilities: [(437078, "Acid", 8), (439814, "Silken Tomb", 8)],
    },
];
