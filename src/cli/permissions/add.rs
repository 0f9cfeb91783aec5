//! `keyward permissions add`: a permission in the embedded store's catalog. A server's catalog
//! lives in its config file, where its operator changes it.

use clap::Args;

use super::catalog::LocalCatalog;
use crate::cli::{Ctx, UsageError};
use crate::server::Catalog;
use crate::server::config::CatalogEntry;

#[derive(Debug, Args)]
pub struct AddArgs {
    /// resource:action, e.g. orders:read
    pub name: String,

    /// What it allows
    #[arg(long, default_value = "")]
    pub description: String,

    /// A public key may hold it
    #[arg(long)]
    pub public_safe: bool,
}

pub async fn run(ctx: &Ctx, args: AddArgs) -> anyhow::Result<()> {
    if ctx.server_url().is_some() {
        return Err(UsageError(
            "permissions add changes the local store's catalog; a server's catalog is the [[permissions]] list in its config file (--local adds here)"
                .to_owned(),
        )
        .into());
    }
    let (mut catalog, _lock) = LocalCatalog::load_for_update()?;
    catalog.permissions.push(CatalogEntry {
        name: args.name.clone(),
        description: args.description,
        public_safe: args.public_safe,
    });
    // The same checks a server makes of its config: a valid name, not built in, not twice.
    Catalog::new(&catalog.permissions).map_err(|e| UsageError(format!("{e:#}")))?;
    let path = catalog.save()?;
    ctx.say(&format!(
        "Added {} to the local store's catalog ({}).",
        args.name,
        path.display()
    ));
    Ok(())
}
