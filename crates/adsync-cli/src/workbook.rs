//! The dry-run workbook (SPEC §8): Summary, Changes, Users, Warnings and Pairings sheets, rendered
//! from the same `Plan` that `apply` runs, through a row model that tests can read.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use adsync_core::model::UserKey;
use adsync_core::plan::{Action, ActionKind, Plan};
use rust_xlsxwriter::{Color, Format, FormatBorder, Workbook, Worksheet, XlsxError};

use crate::error::Error;
use crate::render;

/// One sheet as rows of text: the header first.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Sheet {
    pub(crate) name: &'static str,
    pub(crate) rows: Vec<Vec<String>>,
    /// The action kind of each data row, for its fill colour (Changes only).
    pub(crate) kinds: Vec<Option<ActionKind>>,
}

/// What the Summary sheet says besides the plan.
pub(crate) struct Context<'a> {
    pub(crate) generated: &'a str,
    pub(crate) config: &'a str,
}

/// The row model of the whole workbook.
pub(crate) fn sheets(plan: &Plan, context: &Context<'_>) -> Vec<Sheet> {
    vec![
        summary(plan, context),
        changes(plan),
        users(plan),
        warnings(plan),
        pairings(plan),
    ]
}

fn summary(plan: &Plan, context: &Context<'_>) -> Sheet {
    let s = &plan.summary;
    let verdict = match &plan.blocked {
        None => "ok: apply would run this plan".to_owned(),
        Some(blocked) => format!("blocked: {}", blocked.reason),
    };
    let rows = vec![
        vec!["item".into(), "value".into()],
        vec!["generated".into(), context.generated.into()],
        vec!["configuration".into(), context.config.into()],
        vec!["config digest".into(), plan.config_digest.clone()],
        vec!["plan format".into(), plan.format_version.clone()],
        vec!["create_group".into(), s.create_group.to_string()],
        vec!["create_user".into(), s.create_user.to_string()],
        vec!["move_user".into(), s.move_user.to_string()],
        vec!["update_user".into(), s.update_user.to_string()],
        vec!["enable_user".into(), s.enable_user.to_string()],
        vec![
            "set_mobile_license".into(),
            s.set_mobile_license.to_string(),
        ],
        vec!["disable_user".into(), s.disable_user.to_string()],
        vec!["unchanged".into(), s.unchanged.to_string()],
        vec!["safety verdict".into(), verdict],
        vec!["warnings".into(), plan.warnings.len().to_string()],
    ];
    let kinds = vec![None; rows.len() - 1];
    Sheet {
        name: "Summary",
        rows,
        kinds,
    }
}

fn changes(plan: &Plan) -> Sheet {
    let mut rows = vec![
        [
            "kind",
            "role",
            "name",
            "e-mail",
            "object id",
            "node id",
            "from",
            "to",
            "changes",
            "reason",
        ]
        .map(String::from)
        .to_vec(),
    ];
    let mut kinds = Vec::new();
    // Each user's name in the directory: the first entry for the e-mail that has one.
    let mut names: HashMap<UserKey, Arc<str>> = HashMap::new();
    for user in &plan.users {
        if let Some(name) = user.display_name {
            names.entry(user.email).or_insert(name);
        }
    }
    for action in &plan.actions {
        rows.push(change_row(&names, action));
        kinds.push(Some(action.kind()));
    }
    Sheet {
        name: "Changes",
        rows,
        kinds,
    }
}

fn change_row(names: &HashMap<UserKey, Arc<str>>, action: &Action) -> Vec<String> {
    let name = match (action.new_user(), action.email()) {
        (Some(user), _) => user.name.clone(),
        (None, Some(email)) => names
            .get(email)
            .map(|name| name.to_string())
            .unwrap_or_default(),
        (None, None) => action.to().map(|p| p.name().to_owned()).unwrap_or_default(),
    };
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
    let mut changes: Vec<String> = action
        .changes()
        .into_iter()
        .flatten()
        .map(|(attribute, change)| {
            format!("{}: {} -> {}", attribute.as_str(), change.old, change.new)
        })
        .collect();
    if let Some(mobile) = action.mobile()
        && matches!(
            action.kind(),
            ActionKind::SetMobileLicense | ActionKind::DisableUser
        )
    {
        changes.push(format!("mobile: {} -> {}", !mobile, mobile));
    }
    if let Some(from_role) = action.from_role() {
        changes.push(format!(
            "role: {} -> {}",
            from_role.as_str(),
            action.role().map_or("", |r| r.as_str())
        ));
    }
    vec![
        action.kind().as_str().to_owned(),
        action
            .role()
            .map_or_else(String::new, |r| r.as_str().to_owned()),
        name,
        action
            .email()
            .map_or_else(String::new, |e| e.as_str().to_owned()),
        action.object_id().map(str::to_owned).unwrap_or_default(),
        action.node_id().map_or_else(String::new, |n| n.to_string()),
        from,
        to,
        changes.join("; "),
        action.reason().to_owned(),
    ]
}

fn users(plan: &Plan) -> Sheet {
    let mut rows = vec![
        [
            "e-mail",
            "plane",
            "directory name",
            "object id",
            "desired role",
            "winning pairing",
            "losing pairings",
            "node id",
            "current role",
            "current group",
            "current status",
            "actions",
            "note",
        ]
        .map(String::from)
        .to_vec(),
    ];
    for user in &plan.users {
        rows.push(vec![
            user.email.as_str().to_owned(),
            user.plane.as_str().to_owned(),
            user.display_name.as_deref().unwrap_or_default().to_owned(),
            user.object_id.as_deref().unwrap_or_default().to_owned(),
            user.role
                .map_or_else(|| "(not desired)".to_owned(), |r| r.as_str().to_owned()),
            user.pairing.as_deref().unwrap_or_default().to_owned(),
            user.losing_pairings.join(", "),
            user.node_id.map_or_else(String::new, |n| n.to_string()),
            user.current_role
                .map_or_else(String::new, |r| r.as_str().to_owned()),
            user.current_group
                .as_ref()
                .map_or_else(String::new, |g| g.as_str().to_owned()),
            user.current_status
                .map_or_else(String::new, |s| s.as_str().to_owned()),
            user.actions
                .iter()
                .map(|id| id.split(':').next().unwrap_or("").to_owned())
                .collect::<Vec<_>>()
                .join(", "),
            user.note.clone().unwrap_or_default(),
        ]);
    }
    let kinds = vec![None; rows.len() - 1];
    Sheet {
        name: "Users",
        rows,
        kinds,
    }
}

fn warnings(plan: &Plan) -> Sheet {
    let mut rows = vec![["kind", "e-mail", "message"].map(String::from).to_vec()];
    for warning in &plan.warnings {
        let kind = serde_json::to_value(warning.kind)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        rows.push(vec![
            kind,
            warning
                .email
                .as_ref()
                .map_or_else(String::new, |e| e.as_str().to_owned()),
            warning.message.clone(),
        ]);
    }
    let kinds = vec![None; rows.len() - 1];
    Sheet {
        name: "Warnings",
        rows,
        kinds,
    }
}

fn pairings(plan: &Plan) -> Sheet {
    let mut rows = vec![
        [
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
        ]
        .map(String::from)
        .to_vec(),
    ];
    for pairing in &plan.pairings {
        rows.push(vec![
            pairing.name.clone(),
            pairing.entra_group.clone(),
            pairing.entra_group_id.clone(),
            pairing.member_count.to_string(),
            render::place(Some(pairing.container), Some(&pairing.destination)),
            pairing.node_id.map_or_else(String::new, |n| n.to_string()),
            pairing.role.as_str().to_owned(),
            if pairing.mobile_license { "yes" } else { "no" }.to_owned(),
            pairing.ssoid_from.clone().unwrap_or_default(),
            pairing
                .attributes
                .iter()
                .map(|a| a.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        ]);
    }
    let kinds = vec![None; rows.len() - 1];
    Sheet {
        name: "Pairings",
        rows,
        kinds,
    }
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
    let mut workbook = Workbook::new();
    for sheet in sheets(plan, context) {
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
    for (row_index, row) in sheet.rows.iter().enumerate() {
        let format = match row_index {
            0 => Some(header.clone()),
            _ => sheet
                .kinds
                .get(row_index - 1)
                .copied()
                .flatten()
                .map(|kind| Format::new().set_background_color(fill(kind))),
        };
        for (column, value) in row.iter().enumerate() {
            let (r, c) = (
                u32::try_from(row_index).unwrap_or(u32::MAX),
                u16::try_from(column).unwrap_or(u16::MAX),
            );
            match &format {
                Some(format) => worksheet.write_string_with_format(r, c, value, format)?,
                None => worksheet.write_string(r, c, value)?,
            };
            widths[column] = widths[column].max(value.chars().count().min(60));
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
    if columns > 0 {
        let last_row = u32::try_from(sheet.rows.len().saturating_sub(1)).unwrap_or(u32::MAX);
        worksheet.autofilter(
            0,
            0,
            last_row,
            u16::try_from(columns - 1).unwrap_or(u16::MAX),
        )?;
    }
    Ok(())
}
