//! The dry-run workbook (SPEC §8): Summary, Changes, Tree, Users, Warnings and Pairings sheets,
//! rendered from the same `Plan` that `apply` runs, through a row model that tests can read.
//!
//! It is meant to be reviewed by people who do not read JSON, on screen and on paper: counts
//! and ids are numbers, kinds and roles are words, the Tree sheet shows the organization as it
//! is and as it will be, and every sheet prints landscape, one page wide, with its header row
//! repeated on each page.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;

use adsync_core::model::{NodeId, RescueSnapshot, UserKey};
use adsync_core::plan::{Action, ActionKind, Links, Plan, WarningKind};
use rust_xlsxwriter::{Color, Format, FormatBorder, Workbook, Worksheet, XlsxError};

use crate::error::Error;
use crate::render;
use crate::sheet::{Cell, Mark, Sheet};
use crate::workbook_tree;

/// What the workbook says besides the plan.
pub(crate) struct Context<'a> {
    pub(crate) generated: &'a str,
    pub(crate) config: &'a str,
    /// Rescue as read for the plan: the Tree sheet, and the names of users the directory no
    /// longer holds.
    pub(crate) rescue: Option<&'a RescueSnapshot>,
    /// The state directory's links: the object ids of users the directory no longer returns.
    pub(crate) links: Option<&'a Links>,
}

/// The row model of the whole workbook.
pub(crate) fn sheets(plan: &Plan, context: &Context<'_>) -> Vec<Sheet> {
    let mut sheets = vec![summary(plan, context), changes(plan, context)];
    if let Some(rescue) = context.rescue {
        sheets.push(workbook_tree::sheet(plan, rescue));
    }
    sheets.extend([users(plan), warnings(plan), pairings(plan)]);
    sheets
}

fn summary(plan: &Plan, context: &Context<'_>) -> Sheet {
    let verdict = match &plan.blocked {
        None => "ok: apply would run this plan".to_owned(),
        Some(blocked) => format!("blocked: {}", blocked.reason),
    };
    let mut sheet = Sheet::new("Summary", &["item", "value"], false);
    let origin = plan.origin.clone().unwrap_or_default();
    // The directory read: an Active Directory when the plan names one, else the Entra tenant.
    let directory = match origin.directory {
        Some(directory) => ("Active Directory", directory),
        None => ("Entra tenant", origin.tenant.unwrap_or_default()),
    };
    for (item, value) in [
        ("generated", context.generated.to_owned()),
        ("plan made", origin.made_at.unwrap_or_default()),
        ("configuration", context.config.to_owned()),
        directory,
        (
            "Rescue organization",
            origin.organization.unwrap_or_default(),
        ),
        ("config digest", plan.config_digest.clone()),
        ("plan format", plan.format_version.clone()),
    ] {
        sheet.push(vec![Cell::text(item), Cell::text(value)], None);
    }
    for kind in ActionKind::ALL {
        let count = render::count_of(&plan.summary, kind);
        sheet.push(
            vec![
                Cell::text(format!("{}: changes", render::kind_label(kind))),
                Cell::number(count),
            ],
            (count > 0).then_some(Mark::Kind(kind)),
        );
    }
    sheet.push(
        vec![
            Cell::text("unchanged users"),
            Cell::number(plan.summary.unchanged),
        ],
        None,
    );
    sheet.push(
        vec![Cell::text("safety verdict"), Cell::text(verdict)],
        None,
    );
    sheet.push(
        vec![
            Cell::text("warnings"),
            Cell::number(plan.warnings.len() as u64),
        ],
        None,
    );
    sheet
}

/// Names and object ids of the users the actions touch, from the directory first, then from
/// Rescue and the links for users the directory no longer returns.
struct Names {
    directory: HashMap<UserKey, Arc<str>>,
    nodes: HashMap<NodeId, String>,
    linked: HashMap<NodeId, String>,
}

impl Names {
    fn new(plan: &Plan, context: &Context<'_>) -> Names {
        let mut directory = HashMap::new();
        for user in &plan.users {
            if let Some(name) = user.display_name {
                directory.entry(user.email).or_insert(name);
            }
        }
        let nodes = context
            .rescue
            .map(|rescue| {
                rescue
                    .nodes
                    .iter()
                    .filter(|node| node.node_type.user_role().is_some())
                    .map(|node| (node.id, node.name.clone()))
                    .collect()
            })
            .unwrap_or_default();
        let linked = context
            .links
            .map(|links| {
                links
                    .technician
                    .iter()
                    .chain(&links.administrator)
                    .map(|(object, node)| (*node, object.clone()))
                    .collect()
            })
            .unwrap_or_default();
        Names {
            directory,
            nodes,
            linked,
        }
    }

    fn name(&self, action: &Action) -> String {
        if let Some(user) = action.new_user() {
            return user.name.clone();
        }
        if let Some(name) = action.email().and_then(|e| self.directory.get(e)) {
            return name.to_string();
        }
        if let Some(name) = action.node_id().and_then(|node| self.nodes.get(&node)) {
            return name.clone();
        }
        match (action.kind(), action.to()) {
            (ActionKind::CreateGroup, Some(path)) => path.name().to_owned(),
            _ => String::new(),
        }
    }

    fn object_id(&self, action: &Action) -> String {
        action
            .object_id()
            .map(str::to_owned)
            .or_else(|| action.node_id().and_then(|n| self.linked.get(&n).cloned()))
            .unwrap_or_default()
    }
}

fn changes(plan: &Plan, context: &Context<'_>) -> Sheet {
    let mut sheet = Sheet::new(
        "Changes",
        &[
            "change",
            "role",
            "name",
            "e-mail",
            "object id",
            "node id",
            "from",
            "to",
            "details",
            "reason",
        ],
        true,
    );
    let names = Names::new(plan, context);
    for action in &plan.actions {
        sheet.push(change_row(&names, action), Some(Mark::Kind(action.kind())));
    }
    sheet
}

fn change_row(names: &Names, action: &Action) -> Vec<Cell> {
    let from = match action.kind() {
        ActionKind::MoveUser | ActionKind::DisableUser => render::place(
            action
                .from_role()
                .map(|r| r.container())
                .or(action.container()),
            action.from(),
        ),
        _ => String::new(),
    };
    let to = match action.kind() {
        ActionKind::CreateUser | ActionKind::MoveUser | ActionKind::CreateGroup => {
            render::place(action.container(), action.to())
        }
        _ => String::new(),
    };
    vec![
        Cell::text(render::kind_label(action.kind())),
        Cell::text(if action.kind() == ActionKind::CreateGroup {
            ""
        } else {
            render::role_name(action.role())
        }),
        Cell::text(names.name(action)),
        Cell::text(action.email().map_or("", |e| e.as_str())),
        Cell::text(names.object_id(action)),
        Cell::node(action.node_id()),
        Cell::text(from),
        Cell::text(to),
        Cell::text(details(action)),
        Cell::text(render::plain_reason(action.reason())),
    ]
}

/// What an action changes, in words.
fn details(action: &Action) -> String {
    let mut details: Vec<String> = action
        .changes()
        .into_iter()
        .flatten()
        .map(|(attribute, change)| {
            let from = change
                .mapped
                .as_ref()
                .map(render::mapped_from)
                .unwrap_or_default();
            format!(
                "{}: {} -> {}{from}",
                attribute.as_str(),
                change.old,
                change.new
            )
        })
        .collect();
    match (action.kind(), action.mobile()) {
        (ActionKind::CreateUser, Some(true)) => details.push("with the mobile add-on".into()),
        (ActionKind::SetMobileLicense, Some(true)) => details.push("mobile add-on on".into()),
        (ActionKind::SetMobileLicense, Some(false)) => details.push("mobile add-on off".into()),
        (ActionKind::DisableUser, Some(false)) => {
            details.push("releases the mobile add-on".into());
        }
        _ => {}
    }
    if let Some(from_role) = action.from_role() {
        details.push(format!(
            "role: {} -> {}",
            render::role_name(Some(from_role)),
            render::role_name(action.role())
        ));
    }
    details.join("; ")
}

fn users(plan: &Plan) -> Sheet {
    let mut sheet = Sheet::new(
        "Users",
        &[
            "e-mail",
            "plane",
            "directory name",
            "object id",
            "wanted as",
            "winning pairing",
            "losing pairings",
            "node id",
            "role now",
            "group now",
            "status now",
            "changes",
            "note",
        ],
        true,
    );
    let kinds: HashMap<&str, ActionKind> =
        plan.actions.iter().map(|a| (a.id(), a.kind())).collect();
    for user in &plan.users {
        let changes: Vec<&str> = user
            .actions
            .iter()
            .filter_map(|id| kinds.get(id.as_str()))
            .map(|kind| render::kind_label(*kind))
            .collect();
        let group = user
            .current_role
            .map(|role| render::place(Some(role.container()), user.current_group.as_ref()));
        sheet.push(
            vec![
                Cell::text(user.email.as_str()),
                Cell::text(user.plane.as_str()),
                Cell::text(user.display_name.as_deref().unwrap_or_default()),
                Cell::text(user.object_id.as_deref().unwrap_or_default()),
                Cell::text(match user.role {
                    Some(role) => render::role_name(Some(role)),
                    None => "not wanted",
                }),
                Cell::text(user.pairing.as_deref().unwrap_or_default()),
                Cell::text(user.losing_pairings.join(", ")),
                Cell::node(user.node_id),
                Cell::text(user.current_role.map_or("", |r| render::role_name(Some(r)))),
                Cell::text(group.unwrap_or_default()),
                Cell::text(user.current_status.map_or("", |s| s.as_str())),
                Cell::text(changes.join(", ")),
                Cell::text(user.note.clone().unwrap_or_default()),
            ],
            None,
        );
    }
    sheet
}

fn warning_label(kind: WarningKind) -> &'static str {
    match kind {
        WarningKind::MissingKey => "no e-mail",
        WarningKind::DuplicateKey => "shared e-mail",
        WarningKind::UnknownMember => "unknown member",
        WarningKind::Protected => "protected",
        WarningKind::AccountHolder => "account holder",
        WarningKind::DuplicateNode => "duplicate Rescue users",
        WarningKind::ClaimConflict => "claimed twice",
        WarningKind::Truncated => "value cut",
    }
}

fn warnings(plan: &Plan) -> Sheet {
    let mut sheet = Sheet::new("Warnings", &["warning", "e-mail", "message"], true);
    for warning in &plan.warnings {
        sheet.push(
            vec![
                Cell::text(warning_label(warning.kind)),
                Cell::text(warning.email.as_ref().map_or("", |e| e.as_str())),
                Cell::text(render::plain_reason(&render::warning_text(warning))),
            ],
            None,
        );
    }
    sheet
}

fn pairings(plan: &Plan) -> Sheet {
    let mut sheet = Sheet::new(
        "Pairings",
        &[
            "pairing",
            "Entra group",
            "Entra group id",
            "members",
            "destination",
            "node id",
            "role",
            "mobile add-on",
            "SSO ID from",
            "synced attributes",
        ],
        true,
    );
    for pairing in &plan.pairings {
        let ssoid = match pairing.ssoid_from.as_deref() {
            Some("upn") => "user principal name",
            Some("email") => "e-mail",
            Some(other) => other,
            None => "not set by adsync",
        };
        sheet.push(
            vec![
                Cell::text(pairing.name.clone()),
                Cell::text(pairing.entra_group.clone()),
                Cell::text(pairing.entra_group_id.clone()),
                Cell::number(pairing.member_count),
                Cell::text(render::place(
                    Some(pairing.container),
                    Some(&pairing.destination),
                )),
                Cell::node(pairing.node_id),
                Cell::text(render::role_name(Some(pairing.role))),
                Cell::text(if pairing.mobile_license { "yes" } else { "no" }),
                Cell::text(ssoid),
                Cell::text(
                    pairing
                        .attributes
                        .iter()
                        .map(|a| a.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                ),
            ],
            None,
        );
    }
    sheet
}

/// The fill colour of an action kind: greens add, blues change, red takes away.
fn fill(kind: ActionKind) -> Color {
    Color::RGB(match kind {
        ActionKind::CreateGroup => 0x00C6_EFCE,
        ActionKind::CreateUser => 0x00E2_F0D9,
        ActionKind::MoveUser => 0x00FF_F2CC,
        ActionKind::UpdateUser => 0x00DD_EBF7,
        ActionKind::EnableUser => 0x00D9_EAD3,
        ActionKind::SetMobileLicense => 0x00E4_DFEC,
        ActionKind::DisableUser => 0x00F8_CBAD,
    })
}

/// Writes the workbook to `path`.
pub(crate) fn write(plan: &Plan, context: &Context<'_>, path: &Path) -> Result<(), Error> {
    write_sheets(sheets(plan, context), path)
}

/// Writes `sheets` as a workbook to `path` (the GoTo dry run brings its own sheets).
pub(crate) fn write_sheets(sheets: Vec<Sheet>, path: &Path) -> Result<(), Error> {
    let mut workbook = Workbook::new();
    for sheet in sheets {
        let worksheet = workbook.add_worksheet();
        fill_sheet(worksheet, &sheet).map_err(|e| xlsx_error(path, &e))?;
    }
    let bytes = workbook
        .save_to_buffer()
        .map_err(|e| xlsx_error(path, &e))?;
    crate::output::write_atomic(path, &bytes)
}

fn xlsx_error(path: &Path, error: &XlsxError) -> Error {
    Error::DataFile {
        path: path.to_owned(),
        message: format!("cannot build the workbook: {error}"),
    }
}

fn fill_sheet(worksheet: &mut Worksheet, sheet: &Sheet) -> Result<(), XlsxError> {
    worksheet.set_name(sheet.name)?;
    let header = Format::new()
        .set_bold()
        .set_background_color(Color::RGB(0x00D9_D9D9))
        .set_border_bottom(FormatBorder::Thin);
    let columns = sheet.rows.first().map_or(0, Vec::len);
    let mut widths = vec![8usize; columns];
    let mut formats: BTreeMap<Option<ActionKind>, Format> = BTreeMap::new();
    for (row_index, row) in sheet.rows.iter().enumerate() {
        let format = match row_index {
            0 => header.clone(),
            _ => {
                let kind = sheet
                    .marks
                    .get(row_index - 1)
                    .copied()
                    .flatten()
                    .map(|Mark::Kind(kind)| kind);
                formats
                    .entry(kind)
                    .or_insert_with(|| match kind {
                        Some(kind) => Format::new().set_background_color(fill(kind)),
                        None => Format::new(),
                    })
                    .clone()
            }
        };
        let r = u32::try_from(row_index).unwrap_or(u32::MAX);
        for (column, value) in row.iter().enumerate() {
            let c = u16::try_from(column).unwrap_or(u16::MAX);
            match value {
                Cell::Text(text) => worksheet.write_string_with_format(r, c, text, &format)?,
                Cell::Number(number) => {
                    worksheet.write_number_with_format(r, c, *number, &format)?
                }
                Cell::Empty => worksheet.write_blank(r, c, &format)?,
            };
            if let Some(width) = widths.get_mut(column) {
                *width = (*width).max(value.as_text().chars().count().min(60));
            }
        }
    }
    for (column, width) in widths.iter().enumerate() {
        #[expect(clippy::cast_precision_loss, reason = "column widths are small")]
        worksheet.set_column_width(
            u16::try_from(column).unwrap_or(u16::MAX),
            (*width + 2) as f64,
        )?;
    }
    worksheet.set_freeze_panes(1, 0)?;
    if sheet.filter && columns > 0 {
        let last_row = u32::try_from(sheet.rows.len().saturating_sub(1)).unwrap_or(u32::MAX);
        worksheet.autofilter(
            0,
            0,
            last_row,
            u16::try_from(columns - 1).unwrap_or(u16::MAX),
        )?;
    }
    print_setup(worksheet, sheet.name)
}

/// Landscape, one page wide (as many pages tall as it takes), the header row on every page,
/// and the sheet's name and page numbers in the footer.
fn print_setup(worksheet: &mut Worksheet, name: &str) -> Result<(), XlsxError> {
    worksheet.set_landscape();
    worksheet.set_print_fit_to_pages(1, 0);
    worksheet.set_repeat_rows(0, 0)?;
    worksheet.set_footer(format!("&Ladsync dry run: {name}&RPage &P of &N"));
    Ok(())
}
