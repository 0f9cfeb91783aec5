//! Rebuilds when a migration is added or changed: `sqlx::migrate!` embeds the migrations
//! directory, and cargo would not otherwise know to look at it (sqlx's advice).
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
