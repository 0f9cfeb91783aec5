//! A key's owner and `meta` on the command line: `--owner ID`, `--meta KEY=VALUE` (a text
//! value) or `--meta KEY:=JSON` (any JSON value, as httpie spells it), and `--meta-json FILE`
//! (a whole object, sent byte for byte as the file holds it).

use std::path::{Path, PathBuf};

use clap::Args;
use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;

use crate::api::Meta;
use crate::cli::UsageError;

/// A meta's fields in order, each value kept as the exact JSON text it was: a merge changes
/// the fields it names and leaves every other byte as it was.
#[derive(Debug, Default)]
struct Fields(Vec<(String, Box<RawValue>)>);

impl Fields {
    fn of(meta: &Meta) -> anyhow::Result<Fields> {
        serde_json::from_str(meta.as_str()).map_err(|_| {
            UsageError(
                "the key's meta is not a JSON object this CLI can change field by field; replace it whole with --meta-json"
                    .to_owned(),
            )
            .into()
        })
    }

    fn set(&mut self, name: String, value: Box<RawValue>) {
        match self.0.iter_mut().find(|(n, _)| *n == name) {
            Some((_, v)) => *v = value,
            None => self.0.push((name, value)),
        }
    }

    fn remove(&mut self, name: &str) {
        self.0.retain(|(n, _)| n != name);
    }

    fn to_meta(&self) -> Option<Meta> {
        let body: Vec<String> = self
            .0
            .iter()
            .map(|(n, v)| format!("{}:{}", serde_json::Value::from(n.as_str()), v.get()))
            .collect();
        Meta::from_stored(format!("{{{}}}", body.join(",")))
    }
}

impl<'de> Deserialize<'de> for Fields {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Fields, D::Error> {
        struct Object;
        impl<'de> Visitor<'de> for Object {
            type Value = Fields;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Fields, A::Error> {
                let mut fields = Vec::new();
                while let Some(entry) = map.next_entry::<String, Box<RawValue>>()? {
                    fields.push(entry);
                }
                Ok(Fields(fields))
            }
        }
        d.deserialize_map(Object)
    }
}

/// `keys create`'s owner and meta flags.
#[derive(Debug, Args)]
pub struct CreateOwnerMeta {
    /// Who the key is for: a customer, team or service id of yours (verify answers it)
    #[arg(long, value_name = "ID")]
    pub owner: Option<String>,

    /// A field of the key's meta: KEY=TEXT, or KEY:=JSON for a number, list or object (repeatable)
    #[arg(long = "meta", value_name = "KEY=VALUE", conflicts_with = "meta_json")]
    pub meta: Vec<String>,

    /// The key's meta from a file holding one JSON object (at most 4 KiB), sent as it is
    #[arg(long, value_name = "FILE")]
    pub meta_json: Option<PathBuf>,
}

impl CreateOwnerMeta {
    /// The meta to send, if any flag gave one.
    pub fn meta(&self) -> anyhow::Result<Option<Meta>> {
        if let Some(path) = &self.meta_json {
            return Ok(Some(read_file(path)?));
        }
        if self.meta.is_empty() {
            return Ok(None);
        }
        let mut fields = Fields::default();
        set_fields(&mut fields, &self.meta)?;
        Ok(fields.to_meta())
    }
}

/// `keys edit`'s owner and meta flags.
#[derive(Debug, Args)]
pub struct EditOwnerMeta {
    /// New owner (a customer, team or service id of yours)
    #[arg(long, value_name = "ID", conflicts_with = "no_owner")]
    pub owner: Option<String>,

    /// Remove the key's owner
    #[arg(long)]
    pub no_owner: bool,

    /// Set a field of the key's meta, keeping the others: KEY=TEXT or KEY:=JSON (repeatable)
    #[arg(long = "meta", value_name = "KEY=VALUE", conflicts_with_all = ["meta_json", "no_meta"])]
    pub meta: Vec<String>,

    /// Remove a field from the key's meta (repeatable)
    #[arg(long = "remove-meta", value_name = "KEY", conflicts_with_all = ["meta_json", "no_meta"])]
    pub remove_meta: Vec<String>,

    /// Replace the key's meta with the JSON object in this file, sent as it is
    #[arg(long, value_name = "FILE", conflicts_with = "no_meta")]
    pub meta_json: Option<PathBuf>,

    /// Remove the key's meta
    #[arg(long)]
    pub no_meta: bool,
}

impl EditOwnerMeta {
    /// The owner change: `Some(None)` removes it.
    pub fn owner(&self) -> Option<Option<String>> {
        if self.no_owner {
            Some(None)
        } else {
            self.owner.clone().map(Some)
        }
    }

    /// Whether the meta change needs the key's current meta (fields set or removed one by one).
    pub fn merges(&self) -> bool {
        !self.meta.is_empty() || !self.remove_meta.is_empty()
    }

    /// The meta change that needs no read: a whole new object, or its removal.
    pub fn replacement(&self) -> anyhow::Result<Option<Option<Meta>>> {
        if self.no_meta {
            return Ok(Some(None));
        }
        match &self.meta_json {
            Some(path) => Ok(Some(Some(read_file(path)?))),
            None => Ok(None),
        }
    }

    /// `current` with `--meta` fields set and `--remove-meta` fields removed; `None` when that
    /// changes nothing. Removing the last field removes the meta.
    pub fn merged(&self, current: Option<&Meta>) -> anyhow::Result<Option<Option<Meta>>> {
        let mut fields = match current {
            Some(meta) => Fields::of(meta)?,
            None => Fields::default(),
        };
        for field in &self.remove_meta {
            fields.remove(field);
        }
        set_fields(&mut fields, &self.meta)?;
        let after = if fields.0.is_empty() {
            None
        } else {
            fields.to_meta()
        };
        if after.as_ref().map(Meta::as_str) == current.map(Meta::as_str) {
            return Ok(None);
        }
        Ok(Some(after))
    }
}

/// Each `KEY=TEXT` or `KEY:=JSON` into `fields`, in order (a later one wins).
fn set_fields(fields: &mut Fields, pairs: &[String]) -> anyhow::Result<()> {
    for pair in pairs {
        let (field, value) = parse_pair(pair).map_err(UsageError)?;
        fields.set(field, value);
    }
    Ok(())
}

/// `KEY=TEXT` (the value is text, whatever it looks like) or `KEY:=JSON` (kept as written).
fn parse_pair(pair: &str) -> Result<(String, Box<RawValue>), String> {
    let bad = || {
        format!(
            "--meta {pair:?} is not KEY=VALUE: give a field name, then = and a text value (plan=pro), or := and a JSON value (seats:=5)"
        )
    };
    let Some(at) = pair.find('=') else {
        return Err(bad());
    };
    let (field, value) = (&pair[..at], &pair[at + 1..]);
    if let Some(field) = field.strip_suffix(':') {
        if field.is_empty() {
            return Err(bad());
        }
        let value = RawValue::from_string(value.trim().to_owned()).map_err(|_| {
            format!("--meta {field}:=… is not JSON: give a JSON value such as 5, true, [\"a\"] or {{\"b\":1}}, or use {field}=TEXT for text")
        })?;
        return Ok((field.to_owned(), value));
    }
    if field.is_empty() {
        return Err(bad());
    }
    let text = serde_json::value::to_raw_value(value).map_err(|e| e.to_string())?;
    Ok((field.to_owned(), text))
}

/// A file holding one JSON object, kept byte for byte (less surrounding whitespace).
fn read_file(path: &Path) -> anyhow::Result<Meta> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        UsageError(format!(
            "--meta-json: cannot read {}: {}",
            path.display(),
            e
        ))
    })?;
    let not_object = || {
        UsageError(format!(
            "--meta-json: {} does not hold one JSON object, such as {{\"plan\": \"pro\"}}",
            path.display()
        ))
    };
    let meta = Meta::from_stored(text.trim().to_owned()).ok_or_else(not_object)?;
    if !meta.is_object() {
        return Err(not_object().into());
    }
    crate::api::check_interoperable(meta.as_str())
        .map_err(|why| UsageError(format!("--meta-json: {}: {why}", path.display())))?;
    Ok(meta)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pair_is_text_unless_it_says_json() {
        let value = |pair: &str| parse_pair(pair).unwrap().1.get().to_owned();
        assert_eq!(value("plan=pro"), r#""pro""#);
        assert_eq!(value("zip=01234"), r#""01234""#);
        assert_eq!(value("seats:=5"), "5");
        assert_eq!(value("price:=1.50"), "1.50");
        assert_eq!(value("note=a=b"), r#""a=b""#);
        assert_eq!(value("empty="), r#""""#);
        assert!(parse_pair("plan").is_err());
        assert!(parse_pair("=pro").is_err());
        assert!(parse_pair(":=5").is_err());
        assert!(parse_pair("seats:=five").is_err());
    }

    #[test]
    fn merging_sets_and_removes_fields_and_keeps_the_rest_in_order() {
        let args = EditOwnerMeta {
            owner: None,
            no_owner: false,
            meta: vec!["plan=pro".to_owned(), "seats:=5".to_owned()],
            remove_meta: vec!["old".to_owned()],
            meta_json: None,
            no_meta: false,
        };
        let current = Meta::from_stored(
            r#"{"z":1.50,"big":12345678901234567890123,"old":true,"plan":"free"}"#.to_owned(),
        )
        .unwrap();
        let merged = args.merged(Some(&current)).unwrap().unwrap().unwrap();
        // Untouched fields keep their bytes.
        assert_eq!(
            merged.as_str(),
            r#"{"z":1.50,"big":12345678901234567890123,"plan":"pro","seats":5}"#
        );
        // A meta that is not an object is not emptied: the merge refuses.
        let odd = Meta::from_stored("[1]".to_owned()).unwrap();
        assert!(args.merged(Some(&odd)).is_err());
        // Nothing to change: no edit at all.
        let same = EditOwnerMeta {
            meta: vec!["z:=1".to_owned()],
            remove_meta: vec![],
            ..args
        };
        let current = Meta::from_stored(r#"{"z":1}"#.to_owned()).unwrap();
        assert!(same.merged(Some(&current)).unwrap().is_none());
    }
}
