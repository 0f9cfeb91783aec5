//! Rendering for the two audiences: tables for people, the API's own JSON for scripts. Data goes
//! to stdout; messages go to stderr through [`Ctx::say`](crate::cli::Ctx::say).

use std::io::{IsTerminal, Write};

use std::sync::atomic::{AtomicBool, Ordering};

use comfy_table::{Cell, Color, ColumnConstraint, ContentArrangement, Table, Width, presets};
use jiff::Timestamp;
use serde::Serialize;

use crate::api::{Key, KeyStatus};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    /// Tables fitted to the terminal, for people.
    Table,
    /// The API's objects, for scripts.
    Json,
    /// JSON Lines: one object per line (each item of a listing), nothing else on stdout.
    Jsonl,
}

/// How JSON is written, set once from the global flags: as JSON Lines, and with only some
/// fields. Kept here so that every command that prints JSON obeys both without knowing of them.
static JSON_LINES: AtomicBool = AtomicBool::new(false);
static JSON_FIELDS: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();

/// `--output jsonl` and `--json FIELDS`.
pub fn init_json(lines: bool, fields: Option<Vec<String>>) {
    JSON_LINES.store(lines, Ordering::Relaxed);
    if let Some(fields) = fields {
        let _ = JSON_FIELDS.set(fields);
    }
}

/// The field a selection never drops: a new secret is printed once, and only here.
const ALWAYS_KEPT: &str = "secret";

/// `value` with only the selected fields, if `--json FIELDS` named some: a listing's items
/// each, or the object itself. A field no object has is said on stderr, once, with the fields
/// there are (the command has already done its work by now: this is never an error).
fn select(mut value: serde_json::Value) -> serde_json::Value {
    let Some(fields) = JSON_FIELDS.get() else {
        return value;
    };
    let objects: Vec<&mut serde_json::Map<String, serde_json::Value>> =
        match value.get_mut("items").and_then(|i| i.as_array_mut()) {
            Some(items) => items.iter_mut().filter_map(|i| i.as_object_mut()).collect(),
            None => value.as_object_mut().into_iter().collect(),
        };
    let mut present = std::collections::BTreeSet::new();
    let any = !objects.is_empty();
    for object in objects {
        present.extend(object.keys().cloned());
        object.retain(|k, _| k == ALWAYS_KEPT || fields.contains(k));
    }
    let missing: Vec<&str> = fields
        .iter()
        .filter(|f| !present.contains(*f))
        .map(String::as_str)
        .collect();
    if any && !missing.is_empty() && !WARNED.swap(true, Ordering::Relaxed) {
        eprintln!(
            "warning: --json: no field named {} here; the fields are: {}",
            missing.join(", "),
            present.into_iter().collect::<Vec<_>>().join(", ")
        );
    }
    value
}

static WARNED: AtomicBool = AtomicBool::new(false);

/// On stderr: the lines printed are not all there is.
pub fn more_follow(cursor: &str) {
    eprintln!("note: more follow; --all prints every one, or --cursor {cursor} goes on from here");
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

static COLOR: AtomicBool = AtomicBool::new(false);

/// Decides once, at start-up, whether tables are coloured.
pub fn init_color(choice: ColorChoice) {
    let on = use_color(choice);
    COLOR.store(on, Ordering::Relaxed);
    if on {
        // Our decision stands: crossterm, which draws the colours, also reads NO_COLOR, and
        // would then write bare `ESC[m` resets with no colour.
        crossterm::style::force_color_output(true);
    }
}

/// Whether to colour stdout: `--color` wins, then `NO_COLOR`, then whether stdout is a terminal.
pub fn use_color(choice: ColorChoice) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            std::env::var_os(crate::env_vars::NO_COLOR).is_none_or(|v| v.is_empty())
                && std::io::stdout().is_terminal()
        }
    }
}

/// Writes `value` as pretty JSON and a newline to stdout; with `--output jsonl`, a listing's
/// items one per line (and nothing else), any other object on one line.
pub fn print_json<T: Serialize>(value: &T) -> anyhow::Result<()> {
    let value = select(serde_json::to_value(value)?);
    let mut text = Vec::new();
    if JSON_LINES.load(Ordering::Relaxed) {
        match value.get("items").and_then(|i| i.as_array()) {
            Some(items) => {
                for item in items {
                    serde_json::to_writer(&mut text, item)?;
                    text.push(b'\n');
                }
                // Lines carry no cursor: a listing cut short says so where a person sees it.
                if let Some(cursor) = value.get("next_cursor").and_then(|c| c.as_str()) {
                    more_follow(cursor);
                }
            }
            None => {
                serde_json::to_writer(&mut text, &value)?;
                text.push(b'\n');
            }
        }
    } else {
        text = serde_json::to_vec_pretty(&value)?;
        text.push(b'\n');
    }
    // Written as bytes so a closed pipe surfaces as the io::Error main recognises, not wrapped
    // in a serde_json error.
    let mut out = std::io::stdout().lock();
    out.write_all(&text)?;
    out.flush()?;
    Ok(())
}

/// A whole listing as JSON, in the one shape every listing has: `{"items": [...],
/// "next_cursor": null}` (the shape of the API's pages), so a script reads them all alike.
/// One object on one line (JSON Lines), flushed, so a reader sees it as soon as it is printed.
pub fn print_json_line<T: Serialize>(value: &T) -> anyhow::Result<()> {
    let mut text = serde_json::to_vec(&select(serde_json::to_value(value)?))?;
    text.push(b'\n');
    let mut out = std::io::stdout().lock();
    out.write_all(&text)?;
    out.flush()?;
    Ok(())
}

pub fn print_json_items<T: Serialize>(items: &[T]) -> anyhow::Result<()> {
    #[derive(Serialize)]
    struct Listing<'a, T> {
        items: &'a [T],
        next_cursor: Option<String>,
    }
    print_json(&Listing {
        items,
        next_cursor: None,
    })
}

/// A listing written as JSON while its pages arrive, byte for byte what [`print_json_items`]
/// prints for the same items, without holding them all.
/// With `--output jsonl`, the items one per line and nothing around them.
pub struct JsonItemsStream {
    out: std::io::Stdout,
    empty: bool,
    lines: bool,
}

impl JsonItemsStream {
    pub fn start() -> anyhow::Result<Self> {
        let mut out = std::io::stdout();
        let lines = JSON_LINES.load(Ordering::Relaxed);
        if !lines {
            out.write_all(b"{\n  \"items\": [")?;
        }
        Ok(JsonItemsStream {
            out,
            empty: true,
            lines,
        })
    }

    pub fn items<T: Serialize>(&mut self, items: &[T]) -> anyhow::Result<()> {
        if self.lines {
            for item in items {
                print_json_line(item)?;
            }
            return Ok(());
        }
        let mut text = Vec::new();
        for item in items {
            let item = &select(serde_json::to_value(item)?);
            text.extend_from_slice(if self.empty { b"\n" } else { b",\n" });
            self.empty = false;
            // An item of the listing sits two levels deep: every line of it indented by four.
            // JSON strings escape their line breaks, so lines split nowhere else.
            let pretty = serde_json::to_vec_pretty(item)?;
            for (i, line) in pretty.split(|b| *b == b'\n').enumerate() {
                if i > 0 {
                    text.push(b'\n');
                }
                text.extend_from_slice(b"    ");
                text.extend_from_slice(line);
            }
        }
        let mut out = self.out.lock();
        out.write_all(&text)?;
        out.flush()?;
        Ok(())
    }

    pub fn finish(self) -> anyhow::Result<()> {
        self.finish_with_cursor(None)
    }

    /// Ends the listing with the cursor of the page after it, if there is one.
    pub fn finish_with_cursor(mut self, next_cursor: Option<&str>) -> anyhow::Result<()> {
        if self.lines {
            if let Some(cursor) = next_cursor {
                more_follow(cursor);
            }
            return Ok(());
        }
        let cursor = serde_json::to_string(&next_cursor)?;
        let close = if self.empty { "]" } else { "\n  ]" };
        let end = format!("{close},\n  \"next_cursor\": {cursor}\n}}\n");
        self.out.write_all(end.as_bytes())?;
        self.out.flush()?;
        Ok(())
    }
}

/// `text` with every control character shown escaped (`\u{1b}`, `\r`, `\n`, ...), so that text
/// from a server or a key's fields can never move the cursor, retitle or clear the terminal,
/// or fake a line of output; bidirectional controls (`\u{202e}`, ...) too, so that a value can
/// never reorder what is printed after it. Tables and human messages show values only through
/// this.
pub fn printable(text: &str) -> std::borrow::Cow<'_, str> {
    escape_controls(text, |_| false)
}

/// [`printable`] for a message of several lines: line breaks stay, every other control
/// character is shown escaped.
pub fn printable_text(text: &str) -> std::borrow::Cow<'_, str> {
    escape_controls(text, |c| c == '\n')
}

fn escape_controls(text: &str, keep: impl Fn(char) -> bool) -> std::borrow::Cow<'_, str> {
    let escape = |c: char| (c.is_control() || is_bidi_control(c)) && !keep(c);
    if !text.chars().any(escape) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if escape(c) {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

/// The Unicode bidirectional formatting characters: embeddings and overrides (U+202A–U+202E),
/// isolates (U+2066–U+2069), and the marks (U+200E, U+200F, U+061C). Printed raw, they reorder
/// the text around them (a description could make the rest of its row read backwards). Also
/// the line and paragraph separators (U+2028, U+2029), which some terminals break a line at,
/// and the invisible ones (zero-width space, joiners, word joiner, U+FEFF), which make two
/// different names look the same.
pub fn is_bidi_control(c: char) -> bool {
    matches!(
        c,
        '\u{202a}'..='\u{202e}'
            | '\u{2066}'..='\u{2069}'
            | '\u{200b}'..='\u{200f}'
            | '\u{2028}'
            | '\u{2029}'
            | '\u{2060}'
            | '\u{feff}'
            | '\u{061c}'
    )
}

/// Writes a line to stdout.
pub fn print_line(line: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{line}")?;
    Ok(())
}

fn new_table() -> Table {
    let mut table = Table::new();
    table
        .load_preset(presets::NOTHING)
        .set_content_arrangement(ContentArrangement::Dynamic);
    if COLOR.load(Ordering::Relaxed) {
        // The colour decision is ours (--color, NO_COLOR), not comfy-table's tty check.
        table.enforce_styling();
    }
    // Fit the terminal; when stdout is no terminal, COLUMNS (if set) still bounds the width.
    if !std::io::stdout().is_terminal() {
        if let Some(width) = std::env::var("COLUMNS")
            .ok()
            .and_then(|c| c.parse::<u16>().ok())
        {
            table.set_width(width);
        }
    }
    table
}

/// The table as text, without the preset's leading space and trailing padding on each line.
fn render(table: &Table) -> String {
    table
        .lines()
        .map(|l| l.strip_prefix(' ').unwrap_or(&l).trim_end().to_owned())
        .collect::<Vec<_>>()
        .join("\n")
}

/// `t` from `now` as people say it: "in 29 days", "3 h ago", "just now".
pub fn relative(t: Timestamp, now: Timestamp) -> String {
    let secs = (t - now).get_seconds();
    let n = secs.unsigned_abs();
    // Rounded to the nearest unit: a key made a moment ago for 90 days expires "in 3 months".
    let round = |unit: u64| (n + unit / 2) / unit;
    let amount = match n {
        0..60 => return "just now".to_owned(),
        60..3600 => format!("{} min", round(60)),
        3600..86_400 => format!("{} h", round(3600)),
        86_400..5_184_000 => {
            let days = round(86_400);
            format!("{days} day{}", if days == 1 { "" } else { "s" })
        }
        5_184_000..63_072_000 => format!("{} months", round(2_592_000)),
        _ => format!("{} years", round(31_536_000)),
    };
    if secs > 0 {
        format!("in {amount}")
    } else {
        format!("{amount} ago")
    }
}

pub fn day(t: Timestamp) -> String {
    t.strftime("%Y-%m-%d").to_string()
}

/// An exact time for people: in the local time zone, with how long from now.
pub fn minute(t: Timestamp) -> String {
    let local = t.to_zoned(jiff::tz::TimeZone::system());
    format!(
        "{} ({})",
        local.strftime("%Y-%m-%d %H:%M %Z"),
        relative(t, Timestamp::now())
    )
}

/// A key's environments; a super-admin key acts on all of them, whatever it lists.
fn environments(k: &Key) -> String {
    if k.all_environments {
        "all (super admin)".to_owned()
    } else {
        set_list(&k.environments)
    }
}

fn set_list(items: &std::collections::BTreeSet<String>) -> String {
    if items.is_empty() {
        "-".to_owned()
    } else {
        items.iter().cloned().collect::<Vec<_>>().join(", ")
    }
}

/// One row per key. Columns that do not fit the width are left out, least useful first (the
/// hint, last use, type, environments), and ids and dates never wrap.
pub fn keys_table(keys: &[Key]) -> String {
    let now = Timestamp::now();
    struct Column {
        header: &'static str,
        /// Higher is dropped later when space is short.
        keep: u8,
        wraps: bool,
        cells: Vec<String>,
    }
    let column = |header, keep, wraps, cell: &dyn Fn(&Key) -> String| Column {
        header,
        keep,
        wraps,
        cells: keys
            .iter()
            .map(|k| printable(&cell(k)).into_owned())
            .collect(),
    };
    let mut columns = vec![
        column("NAME", 9, true, &|k| k.name.clone()),
        column("ID", 9, false, &|k| k.id.clone()),
        column("TYPE", 2, false, &|k| k.key_type.as_str().to_owned()),
        column("STATUS", 9, false, &|k| k.status.as_str().to_owned()),
        column("ENVIRONMENTS", 3, true, &|k| environments(k)),
        // A revoked key never expires: it is over already.
        column("EXPIRES", 8, false, &|k| match k.status {
            KeyStatus::Revoked => "-".to_owned(),
            _ => relative(k.expires_at, now),
        }),
        column("LAST USED", 1, false, &|k| {
            k.last_used_at
                .map_or_else(|| "never".to_owned(), |t| relative(t, now))
        }),
        column("HINT", 0, false, &|k| k.hint.clone()),
    ];
    let natural = |c: &Column| {
        c.cells
            .iter()
            .map(|v| v.chars().count())
            .chain([c.header.len()])
            .max()
            .unwrap_or(0)
            + 2
    };
    if let Some(width) = new_table().width() {
        // Wrapped columns may shrink to about 12 characters; the rest need their full width.
        let needed = |cols: &[Column]| -> usize {
            cols.iter()
                .map(|c| {
                    if c.wraps {
                        natural(c).min(14)
                    } else {
                        natural(c)
                    }
                })
                .sum()
        };
        while needed(&columns) > usize::from(width) {
            let Some(drop) = columns
                .iter()
                .enumerate()
                .filter(|(_, c)| c.keep < 8)
                .min_by_key(|(_, c)| c.keep)
                .map(|(i, _)| i)
            else {
                break;
            };
            columns.remove(drop);
        }
    }
    let mut table = new_table();
    table.set_header(columns.iter().map(|c| c.header));
    for (row, key) in keys.iter().enumerate() {
        table.add_row(columns.iter().map(|c| {
            if c.header == "STATUS" {
                status_cell(key.status)
            } else {
                Cell::new(&c.cells[row])
            }
        }));
    }
    table.set_constraints(columns.iter().map(|c| {
        if c.wraps {
            ColumnConstraint::LowerBoundary(Width::Fixed(6))
        } else {
            ColumnConstraint::ContentWidth
        }
    }));
    render(&table)
}

/// Field and value, one per row.
/// "950 left; set to 1000 on the 1st of each month, next 2027-01-01 00:00 UTC".
fn credits_text(c: &crate::api::Credits) -> String {
    let mut text = format!("{} left", c.remaining);
    if let Some(r) = &c.refill {
        let when = match (r.interval, r.day) {
            (crate::api::RefillInterval::Day, _) => "every day".to_owned(),
            (crate::api::RefillInterval::Month, day) => match day.unwrap_or(1) {
                day @ 29.. => format!("on day {day} of each month (or its last day)"),
                day => format!("on day {day} of each month"),
            },
        };
        text.push_str(&format!("; set to {} {when}", r.amount));
        if let Some(next) = c.next_refill_at {
            text.push_str(&format!(", next {}", minute(next)));
        }
    }
    text
}

pub fn key_details(k: &Key) -> String {
    let rows: Vec<(&str, String)> = vec![
        ("Name", k.name.clone()),
        ("ID", k.id.clone()),
        (
            "Description",
            if k.description.is_empty() {
                "-".to_owned()
            } else {
                k.description.clone()
            },
        ),
        (
            "Owner",
            k.owner
                .as_deref()
                .map_or("-".to_owned(), |o| printable(o).into_owned()),
        ),
        (
            "Meta",
            k.meta
                .as_ref()
                .map_or("-".to_owned(), |m| printable(m.as_str()).into_owned()),
        ),
        (
            "Credits",
            k.credits.as_ref().map_or("-".to_owned(), credits_text),
        ),
        (
            "Rate limits",
            if k.ratelimits.is_empty() {
                "-".to_owned()
            } else {
                k.ratelimits
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            },
        ),
        ("Type", k.key_type.as_str().to_owned()),
        ("Status", k.status.as_str().to_owned()),
        ("Environments", environments(k)),
        ("Permissions", set_list(&k.permissions)),
        (
            "Allowed IPs",
            if k.allowed_ips.is_empty() {
                "any".to_owned()
            } else {
                k.allowed_ips.join(", ")
            },
        ),
        ("Hint", k.hint.clone()),
        (
            "Created",
            format!("{} by {}", minute(k.created_at), k.created_by),
        ),
        ("Updated", minute(k.updated_at)),
        ("Expires", minute(k.expires_at)),
        (
            "Last used",
            match (&k.last_used_at, &k.last_used_ip) {
                (Some(at), Some(ip)) => format!("{} from {ip}", minute(*at)),
                (Some(at), None) => minute(*at),
                _ => "never".to_owned(),
            },
        ),
        ("Version", k.version.to_string()),
    ];
    pairs(rows.into_iter().map(|(f, v)| [f.to_owned(), v]).collect())
}

/// A status, green when active, yellow when paused or lapsed, red when revoked (if colour is on).
fn status_cell(status: KeyStatus) -> Cell {
    let cell = Cell::new(status.as_str());
    if !COLOR.load(Ordering::Relaxed) {
        return cell;
    }
    cell.fg(match status {
        KeyStatus::Active => Color::Green,
        KeyStatus::Disabled | KeyStatus::Expired => Color::Yellow,
        KeyStatus::Revoked => Color::Red,
    })
}

/// Field and value rows without a header.
pub fn pairs(rows: Vec<[String; 2]>) -> String {
    let mut table = new_table();
    for row in rows {
        table.add_row(row.iter().map(|c| printable(c).into_owned()));
    }
    render(&table)
}

/// Rows of two or more columns with a header, for the small lists (environments, permissions).
pub fn simple_table<const N: usize>(header: [&str; N], rows: Vec<[String; N]>) -> String {
    let header: Vec<String> = header.iter().map(|h| (*h).to_owned()).collect();
    rows_table(&header, rows.into_iter().map(Vec::from).collect())
}

/// [`simple_table`] for a number of columns known only at run time.
pub fn rows_table(header: &[String], rows: Vec<Vec<String>>) -> String {
    let mut table = new_table();
    table.set_header(header);
    for row in rows {
        table.add_row(row.iter().map(|c| printable(c).into_owned()));
    }
    render(&table)
}

/// The one-time secret in a box, with the warning that it cannot be shown again.
pub fn secret_box(secret: &str) -> String {
    let warning = "Copy it now: keyward will not show this secret again.";
    let inner = secret.chars().count().max(warning.len()) + 2;
    let bar = "─".repeat(inner);
    let pad = |s: &str| format!("│ {s:<width$} │", width = inner - 2);
    [
        format!("┌{bar}┐"),
        pad(secret),
        pad(""),
        pad(warning),
        format!("└{bar}┘"),
    ]
    .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_times_read_as_people_say_them() {
        let now: Timestamp = "2026-11-25T12:00:00Z".parse().unwrap();
        let at = |s: &str| s.parse::<Timestamp>().unwrap();
        assert_eq!(relative(at("2026-12-24T12:00:00Z"), now), "in 29 days");
        assert_eq!(relative(at("2026-11-25T09:00:00Z"), now), "3 h ago");
        assert_eq!(relative(at("2026-11-25T11:59:30Z"), now), "just now");
        assert_eq!(relative(at("2026-11-25T12:45:00Z"), now), "in 45 min");
        assert_eq!(relative(at("2026-11-26T12:00:00Z"), now), "in 1 day");
        assert_eq!(relative(at("2027-11-25T12:00:00Z"), now), "in 12 months");
        assert_eq!(relative(at("2023-11-25T12:00:00Z"), now), "3 years ago");
        // A moment short of 90 days is still "3 months", not "2".
        assert_eq!(relative(at("2027-02-23T11:59:00Z"), now), "in 3 months");
    }

    #[test]
    fn control_characters_are_shown_escaped() {
        assert_eq!(printable("plain text"), "plain text");
        assert_eq!(
            printable("a\u{1b}]0;owned\u{7}b\u{1b}[2Jc\rd\0e\u{9b}f"),
            "a\\u{1b}]0;owned\\u{7}b\\u{1b}[2Jc\\rd\\u{0}e\\u{9b}f"
        );
        assert_eq!(printable_text("one\ntwo\r"), "one\ntwo\\r");
        assert_eq!(
            printable("a\u{202e}b\u{2066}c\u{200f}d\u{61c}e\u{202a}\u{2069}\u{200e}f"),
            "a\\u{202e}b\\u{2066}c\\u{200f}d\\u{61c}e\\u{202a}\\u{2069}\\u{200e}f"
        );
        assert_eq!(
            printable("a\u{2028}b\u{200b}c\u{feff}d"),
            "a\\u{2028}b\\u{200b}c\\u{feff}d"
        );
        let table = pairs(vec![["Description".into(), "x\u{1b}[2J".into()]]);
        assert!(!table.contains('\u{1b}'), "{table:?}");
    }
}
