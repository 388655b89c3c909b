//! `adsync tree` for a GoTo account: its users by product and by user group, as the account
//! holds them now, marking suspended users (no product) and the managed ones.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use adsync_core::goto::GotoTargetConfig;
use adsync_goto::{GotoSnapshot, GotoUser, Key};

use crate::cli::{Global, TreeArgs};
use crate::error::Error;
use crate::exit::ExitStatus;
use crate::load::Loaded;
use crate::output;
use crate::style::{Paint, Tone};

/// `adsync tree [PRODUCT | USER GROUP]`.
pub(crate) async fn tree(
    global: &Global,
    args: &TreeArgs,
    loaded: &Loaded,
    config: &GotoTargetConfig,
) -> Result<ExitStatus, Error> {
    let target = super::target(loaded, config)?;
    let account = super::read_account(&target).await?;
    let managed = super::read_managed(loaded)?;
    let view = View::new(&account);
    if let Some(filter) = &args.path
        && !view.knows(filter, &account)
    {
        return Err(Error::Usage {
            message: format!("the goto account has no product or user group `{filter}`"),
            hint: format!(
                "products: {}; user groups: {}",
                view.by_product
                    .keys()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", "),
                account
                    .groups
                    .iter()
                    .map(|g| g.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        });
    }
    if args.json {
        output::stdout(&output::json(&view.json(&account, &managed)))?;
    } else {
        let paint = Paint::stdout(global);
        output::stdout(&view.render(&account, &managed, args.path.as_deref(), paint))?;
    }
    Ok(ExitStatus::Success)
}

/// The account's users grouped two ways.
struct View<'a> {
    by_product: BTreeMap<String, Vec<&'a GotoUser>>,
    by_group: BTreeMap<Option<Key>, Vec<&'a GotoUser>>,
}

impl<'a> View<'a> {
    fn new(account: &'a GotoSnapshot) -> View<'a> {
        let mut by_product: BTreeMap<String, Vec<&GotoUser>> = BTreeMap::new();
        let mut by_group: BTreeMap<Option<Key>, Vec<&GotoUser>> = BTreeMap::new();
        for licence in &account.licences {
            for product in &licence.products {
                by_product.entry(product.as_str().to_owned()).or_default();
            }
        }
        for user in &account.users {
            for product in account.products_of(user) {
                by_product
                    .entry(product.as_str().to_owned())
                    .or_default()
                    .push(user);
            }
            by_group.entry(user.group.clone()).or_default().push(user);
        }
        for users in by_product.values_mut().chain(by_group.values_mut()) {
            users.sort_by(|a, b| a.email.cmp(&b.email));
        }
        View {
            by_product,
            by_group,
        }
    }

    /// Whether `filter` names a product or a user group of the account.
    fn knows(&self, filter: &str, account: &GotoSnapshot) -> bool {
        let filter = filter.trim();
        self.by_product.contains_key(&filter.to_ascii_uppercase())
            || account
                .groups
                .iter()
                .any(|g| g.name.trim().eq_ignore_ascii_case(filter))
    }

    fn render(
        &self,
        account: &GotoSnapshot,
        managed: &BTreeSet<String>,
        filter: Option<&str>,
        paint: Paint,
    ) -> String {
        let wanted = |name: &str| filter.is_none_or(|f| f.trim().eq_ignore_ascii_case(name.trim()));
        let line = |user: &GotoUser| {
            let mut text = format!("{} ({} {})", user.email, user.first_name, user.last_name);
            if user.is_suspended() {
                text.push_str(&paint.paint(Tone::Remove, " suspended"));
            }
            if managed.contains(&user.email) {
                text.push_str(&paint.paint(Tone::Dim, " [managed]"));
            }
            text
        };
        let mut out = String::new();
        let heading = format!("GoTo account {}", account.account_key);
        let _ = writeln!(out, "{}", paint.paint(Tone::Strong, &heading));
        let _ = writeln!(out, "{}", paint.paint(Tone::Strong, "By product"));
        for (product, users) in &self.by_product {
            if !wanted(product) {
                continue;
            }
            let seats = seats(account, product);
            let _ = writeln!(out, "  {product} {}", paint.paint(Tone::Dim, &seats));
            for user in users {
                let _ = writeln!(out, "    {}", line(user));
            }
        }
        let _ = writeln!(out, "{}", paint.paint(Tone::Strong, "By user group"));
        for (group, users) in &self.by_group {
            let name = group_name(account, group.as_ref());
            if !wanted(&name) {
                continue;
            }
            let _ = writeln!(out, "  {name}");
            for user in users {
                let _ = writeln!(out, "    {}", line(user));
            }
        }
        out
    }

    fn json(&self, account: &GotoSnapshot, managed: &BTreeSet<String>) -> serde_json::Value {
        let emails = |users: &Vec<&GotoUser>| -> Vec<String> {
            users.iter().map(|u| u.email.clone()).collect()
        };
        let products: BTreeMap<&String, Vec<String>> = self
            .by_product
            .iter()
            .map(|(p, u)| (p, emails(u)))
            .collect();
        let groups: Vec<serde_json::Value> = self
            .by_group
            .iter()
            .map(|(key, users)| {
                serde_json::json!({
                    "key": key,
                    "name": group_name(account, key.as_ref()),
                    "users": emails(users),
                })
            })
            .collect();
        let suspended: Vec<&str> = account
            .users
            .iter()
            .filter(|u| u.is_suspended())
            .map(|u| u.email.as_str())
            .collect();
        serde_json::json!({
            "format_version": output::FORMAT_VERSION,
            "target": "goto",
            "account_key": account.account_key,
            "products": products,
            "groups": groups,
            "suspended": suspended,
            "managed": managed,
        })
    }
}

fn group_name(account: &GotoSnapshot, key: Option<&Key>) -> String {
    match key {
        None => "(no user group)".to_owned(),
        Some(key) => account
            .groups
            .iter()
            .find(|g| &g.key == key)
            .map_or_else(|| format!("user group {key}"), |g| g.name.clone()),
    }
}

/// The seats of the licences granting `product`: `used/bought` each.
fn seats(account: &GotoSnapshot, product: &str) -> String {
    let parts: Vec<String> = account
        .licences
        .iter()
        .filter(|l| l.products.iter().any(|p| p.as_str() == product))
        .map(|l| format!("licence {}: {}/{} seats", l.key, l.user_count, l.seats))
        .collect();
    format!("({})", parts.join("; "))
}
