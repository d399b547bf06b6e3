//! The actor registry: a TOML list of `[[actor]]` tables (see `actors.toml`, bundled as the
//! default). `--actors FILE` adds actors or overrides bundled ones with the same id.

use std::path::Path;

use serde::{Deserialize, Serialize};

pub use crate::error::RegistryError;

/// What kind of actor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// A person; the only kind a later "he"/"she" can refer to.
    Person,
    /// A country or its government.
    State,
    /// A formal organisation: an alliance, an international body or a party (`nato`,
    /// `united-nations`, `workers-party-of-korea`).
    Organisation,
    /// A group that is not a formal organisation, such as a movement or an armed group.
    Group,
    /// A news agency or outlet: a source of reports, never a speaker.
    Agency,
}

/// One `[[actor]]` table of the registry: an actor and the words that mention it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Actor {
    /// Stable kebab-case id (`kim-jong-un`), written in output rows; a file's actor with the
    /// id of a bundled one replaces it.
    pub id: String,
    /// Display name (`Kim Jong Un`).
    pub name: String,
    /// What kind of actor; news agencies are sources, never speakers.
    pub kind: Kind,
    /// Names that always mean this actor: case-sensitive, whole words, a possessive allowed.
    /// At least one is required.
    #[serde(default)]
    pub aliases: Vec<String>,
    /// Ambiguous short names, used only in texts that also use one of `aliases`.
    #[serde(default)]
    pub short: Vec<String>,
    /// Descriptions that stand for the actor (`North Korean leader`); matched like aliases.
    #[serde(default)]
    pub titles: Vec<String>,
    /// Adjectives that mention a state (`North Korean` in "North Korean soldiers").
    #[serde(default)]
    pub demonyms: Vec<String>,
    /// Places or institutions that stand for the actor (`Pyongyang`, `the Kremlin`).
    #[serde(default)]
    pub metonyms: Vec<String>,
    /// Id of the state or organisation a person belongs to (`north-korea`).
    #[serde(default)]
    pub affiliation: Option<String>,
}

#[derive(Debug, Deserialize)]
struct File {
    #[serde(rename = "actor", default)]
    actors: Vec<Actor>,
}

/// All known actors.
#[derive(Debug, Clone, Default)]
pub struct Registry {
    /// The actors in file order (bundled ones first, then those a file adds).
    pub(crate) actors: Vec<Actor>,
}

const BUNDLED: &str = include_str!("actors.toml");

impl Registry {
    /// The bundled default registry.
    pub fn bundled() -> Registry {
        Self::parse("actors.toml (bundled)", BUNDLED).unwrap_or_default()
    }

    /// Parses registry TOML; `name` names the source in errors.
    pub(crate) fn parse(name: &str, text: &str) -> Result<Registry, RegistryError> {
        let f: File = toml::from_str(text).map_err(|e| RegistryError::Parse {
            path: name.into(),
            reason: e.to_string(),
        })?;
        for a in &f.actors {
            if a.id.trim().is_empty() || a.aliases.is_empty() {
                return Err(RegistryError::Parse {
                    path: name.into(),
                    reason: format!("actor {:?} needs an id and at least one alias", a.name),
                });
            }
        }
        Ok(Registry { actors: f.actors })
    }

    /// The bundled registry with the actors of `path` added (same id: replaced).
    pub fn with_file(path: &Path) -> Result<Registry, RegistryError> {
        let text = std::fs::read_to_string(path).map_err(|error| RegistryError::Io {
            path: path.display().to_string(),
            error,
        })?;
        let extra = Self::parse(&path.display().to_string(), &text)?;
        let mut reg = Self::bundled();
        for a in extra.actors {
            match reg.actors.iter_mut().find(|b| b.id == a.id) {
                Some(b) => *b = a,
                None => reg.actors.push(a),
            }
        }
        Ok(reg)
    }

    /// The actor with registry id `id`.
    pub fn get(&self, id: &str) -> Option<&Actor> {
        self.actors.iter().find(|a| a.id == id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundled_registry_has_the_required_actors() {
        let r = Registry::bundled();
        for id in [
            "kim-jong-un",
            "donald-trump",
            "joe-biden",
            "vladimir-putin",
            "xi-jinping",
            "volodymyr-zelensky",
            "yoon-suk-yeol",
            "shigeru-ishiba",
            "united-states",
            "north-korea",
            "south-korea",
            "japan",
            "china",
            "russia",
            "ukraine",
            "nato",
            "united-nations",
            "workers-party-of-korea",
        ] {
            assert!(r.get(id).is_some(), "missing {id}");
        }
        assert_eq!(
            r.get("kim-jong-un").unwrap().affiliation.as_deref(),
            Some("north-korea")
        );
    }

    #[test]
    fn a_file_adds_and_overrides() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("a.toml");
        std::fs::write(
            &p,
            "[[actor]]\nid = \"japan\"\nname = \"Nippon\"\nkind = \"state\"\naliases = [\"Nippon\"]\n\n[[actor]]\nid = \"iran\"\nname = \"Iran\"\nkind = \"state\"\naliases = [\"Iran\"]\n",
        )
        .unwrap();
        let r = Registry::with_file(&p).unwrap();
        assert_eq!(r.get("japan").unwrap().name, "Nippon");
        assert!(r.get("iran").is_some());
        std::fs::write(&p, "[[actor]]\nid = \"x\"\n").unwrap();
        assert!(Registry::with_file(&p)
            .unwrap_err()
            .to_string()
            .contains("a.toml"));
    }
}
