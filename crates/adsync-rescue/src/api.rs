//! Every spelling adsync relies on when it talks to the Rescue API: hosts, method names, parameter
//! names, parameter values and return codes.
//!
//! The public documentation of the Rescue API is incomplete and sometimes contradicts itself
//! (`reference/rescue-api.md`). Each item below says where it comes from:
//!
//! - `[DOC]`: stated in the official API help.
//! - `[UNCONFIRMED]`: a choice made without a confirmation against a real account. When one is
//!   confirmed or corrected, this file is the only place to change; the client and the emulator in
//!   `tests/` both read these constants.
//!
//! Choices that are not spellings (how a response is laid out, which code means what) are listed
//! at the end of this file, with where in the crate they are made.

/// Base URLs per region (`<base>/API/<method>.aspx`).
pub mod host {
    /// The global data centre. `[DOC]`
    pub const GLOBAL: &str = "https://secure.logmeinrescue.com";
    /// The EU data centre. `[UNCONFIRMED]`: the allowlisting article names `*.logmeinrescue.eu`,
    /// no document names the API host.
    pub const EU: &str = "https://secure.logmeinrescue.eu";
    /// Rescue Enterprise. `[UNCONFIRMED]`: third-party notes only; the API help is mirrored there.
    pub const ENTERPRISE: &str = "https://logmeinrescue-enterprise.com";
}

/// Method names; the request goes to `<base>/API/<name>.aspx`.
pub mod method {
    /// Exchanges e-mail and password for a secret authcode. `[DOC]`
    pub const REQUEST_AUTH_CODE: &str = "requestAuthCode";
    /// Who am I; the cheap credentials probe. `[DOC]`
    pub const GET_ACCOUNT: &str = "getAccount";
    /// The whole organization tree. `[DOC]`
    pub const GET_HIERARCHY: &str = "getHierarchy_v2";
    /// One user's details (nick, SSO ID, add-ons, account holder). `[DOC]`
    pub const GET_USER: &str = "getUser_v3";
    /// Creates an empty user node under a parent. `[DOC]`
    pub const CREATE_USER: &str = "createUser";
    /// Replaces every field of a user. `[UNCONFIRMED]`: the help documents `setUser_v2`, but its
    /// own tutorial calls `setUser.aspx`; whether `setUser_v2.aspx` exists over HTTP is not known.
    pub const SET_USER: &str = "setUser_v2";
    /// Moves a node under another. `[DOC]`
    pub const MOVE_NODE: &str = "moveNode";
    /// Deletes a node (adsync: rollback of a node it just created, nothing else). `[DOC]`
    pub const DELETE_NODE: &str = "deleteNode";
    /// Creates an empty group under a parent. `[DOC]`
    pub const CREATE_GROUP: &str = "createGroup";
    /// Names and enables a group. `[DOC]` (v1; `setGroup_v2` also exists and adds RPAT limits)
    pub const SET_GROUP: &str = "setGroup";
}

/// Parameter names (form fields).
pub mod param {
    /// The authcode or API token. `[DOC]`; that the API token is passed the same way is
    /// `[UNCONFIRMED]` (third-party notes, consistent with the documentation's wording).
    pub const AUTHCODE: &str = "authcode";
    /// The account e-mail for `requestAuthCode`. `[DOC]`
    pub const EMAIL: &str = "email";
    /// The password for `requestAuthCode`, and a user's new password in `setUser`. `[DOC]`
    pub const PASSWORD: &str = "pwd";
    /// Password confirmation in `setUser`. `[DOC]`
    pub const CONFIRM_PASSWORD: &str = "confpwd";
    /// The node acted on. `[DOC]`
    pub const NODE: &str = "node";
    /// The node acted on by `deleteNode`. `[UNCONFIRMED]`: the parameter table says `node`, the
    /// page's POST sample says `nodeID`.
    pub const DELETE_NODE: &str = "node";
    /// The node moved by `moveNode`. `[UNCONFIRMED]`: the parameter table says `node`, the POST
    /// sample says `nodeID`.
    pub const MOVE_NODE: &str = "node";
    /// The new parent in `moveNode`. `[UNCONFIRMED]`: the table says `targetNode`, the GET
    /// example `targetnode`, the POST sample `targetNodeID`.
    pub const MOVE_TARGET: &str = "targetnode";
    /// The parent of a new user or group. `[DOC]`
    pub const PARENT: &str = "parent";
    /// `getHierarchy_v2`: return one node instead of the tree. `[DOC]`
    pub const IS_NODE: &str = "isnode";
    /// `getUser_v3`: look a user up by e-mail instead of node. `[DOC]`
    pub const USER_EMAIL: &str = "email";
    /// Display name. `[DOC]`
    pub const NAME: &str = "name";
    /// Nickname. `[DOC]`
    pub const NICK: &str = "nick";
    /// SSO ID. `[DOC]`
    pub const SSOID: &str = "ssoid";
    /// Description. `[DOC]`
    pub const DESCRIPTION: &str = "description";
    /// `Enabled` / `Disabled`. `[DOC]`
    pub const STATUS: &str = "status";
    /// The mobile add-on in `setUser_v2`. `[UNCONFIRMED]`: the v2 page says `mobileaddon`, its
    /// tutorial sends `addons` (the v1 name).
    pub const MOBILE_ADDON: &str = "mobileaddon";
    /// The RPAT add-on in `setUser_v2`. `[DOC]`
    pub const RPAT_ADDON: &str = "rpataddon";
}

/// Parameter values.
pub mod value {
    /// A true flag. `[DOC]` (`True`/`False`; the tutorial also sends `true`)
    pub const TRUE: &str = "True";
    /// A false flag. `[DOC]`
    pub const FALSE: &str = "False";
    /// An enabled user or group. `[DOC]`
    pub const ENABLED: &str = "Enabled";
    /// A disabled user or group. `[DOC]`
    pub const DISABLED: &str = "Disabled";
}

/// Keys of the text responses (compared case-insensitively).
pub mod key {
    /// `getHierarchy_v2` keys. `[DOC]` names, `[UNCONFIRMED]` layout (see the end of this file).
    pub const HIERARCHY: [&str; 7] = [
        "NodeID",
        "ParentID",
        "Name",
        "Email",
        "Description",
        "Status",
        "Type",
    ];
    /// `getUser_v3` keys. `[DOC]`
    pub const USER: [&str; 11] = [
        "NODEID",
        "NAME",
        "NICK",
        "EMAIL",
        "SSOID",
        "DESCRIPTION",
        "TYPE",
        "HASMOBILEADDON",
        "HASRPATADDON",
        "ISACCOUNTHOLDER",
        "STATUS",
    ];
    /// `getAccount` keys. `[DOC]`
    pub const ACCOUNT: [&str; 5] = ["AccountID", "Organization", "AdminID", "TechID", "Email"];
    /// The marker before the code in `requestAuthCode`'s answer. `[DOC]`
    pub const AUTHCODE: &str = "AUTHCODE";
}

/// Return codes: the first token of every answer.
pub mod code {
    /// Success. `[DOC]`
    pub const OK: &str = "OK";
    /// Unspecified error, "such as a timeout"; retried. `[DOC]`
    pub const ERROR: &str = "ERROR";
    /// No session and no valid authcode. `[DOC]`
    pub const NOT_LOGGED_IN: &str = "NOTLOGGEDIN";
    /// The authcode or API token is wrong or superseded. `[DOC]`
    pub const INVALID_SECRET_AUTHCODE: &str = "INVALID_SECRETAUTHCODE";
    /// The caller's own user was deleted or disabled. `[DOC]`
    pub const USER_DELETED_OR_DISABLED: &str = "USER_DELETED_OR_DISABLED";
    /// E-mail and password do not authenticate (`login`, `requestAuthCode`). `[DOC]`
    pub const INVALID: &str = "INVALID";
    /// `login`/`requestAuthCode` called too often (more than 10 times in 3 minutes). `[DOC]`
    pub const LIMIT_REACHED: &str = "LIMITREACHED";
    /// Polled too fast (PIN methods; not used by adsync, mapped for completeness). `[DOC]`
    pub const POLL_RATE_EXCEEDED: &str = "POLLRATEEXCEEDED";
    /// The node does not exist (or is not of the right kind). `[DOC]`
    pub const INVALIDPARAM_NODE: &str = "INVALIDPARAM_NODE";
    /// The parent is missing or cannot hold the new node. `[DOC]`
    pub const INVALIDPARAM_PARENT: &str = "INVALIDPARAM_PARENT";
    /// The move target is missing. `[DOC]`
    pub const INVALIDPARAM_TARGETNODE: &str = "INVALIDPARAM_TARGETNODE";
    /// The move target cannot hold this node type. `[DOC]`
    pub const INVALID_MOVE: &str = "INVALID_MOVE";
    /// Not allowed to delete this node. `[DOC]`
    pub const INVALID_DELETE: &str = "INVALID_DELETE";
    /// Empty or too long name. `[DOC]`
    pub const INVALIDPARAM_NAME: &str = "INVALIDPARAM_NAME";
    /// Status is not `Enabled`/`Disabled`. `[DOC]`
    pub const INVALIDPARAM_STATUS: &str = "INVALIDPARAM_STATUS";
    /// The mobile add-on is "incorrectly specified". `[DOC]`; that it is also the answer when no
    /// mobile licence is free is `[UNCONFIRMED]` (see [`MOBILE_LICENCE_REFUSED`]).
    pub const INVALIDPARAM_MOBILEADDON: &str = "INVALIDPARAM_MOBILEADDON";
    /// The RPAT add-on is incorrectly specified. `[DOC]`
    pub const INVALIDPARAM_RPATADDON: &str = "INVALIDPARAM_RPATADDON";
    /// Malformed e-mail (and, in `getUser_v3`, an unknown one: `[UNCONFIRMED]` HTTP spelling of
    /// `getUser_InvalidParam_Email`). `[DOC]`
    pub const INVALIDPARAM_EMAIL: &str = "INVALIDPARAM_EMAIL";
    /// The e-mail is used by another user. `[DOC]`
    pub const INVALIDPARAM_EMAIL_ALREADY_IN_USE: &str = "INVALIDPARAM_EMAIL_ALREADY_IN_USE";
    /// A master administrator changing their own password must give the old one. `[DOC]`
    pub const INVALIDPARAM_MISSING_CURRENT_PASSWORD: &str = "INVALIDPARAM_MISSING_CURRENT_PASSWORD";
    /// `requestAuthCodeSSO` with a non-numeric company (not used; mapped for completeness). `[DOC]`
    pub const INVALIDPARAM_COMPANY: &str = "INVALIDPARAM_COMPANY";
    /// `getUser_v3` with both `node` and `email`. `[UNCONFIRMED]`: only the SOAP spelling
    /// (`getUser_Invalid_EmailAndNodeIdBothSpecified`) was seen.
    pub const INVALID_EMAIL_AND_NODE_BOTH_SPECIFIED: &str = "INVALID_EMAILANDNODEIDBOTHSPECIFIED";
    /// Prefix of the password-policy codes (too short, whitespace, ...). `[UNCONFIRMED]`: only
    /// the SOAP spellings (`setUser_InvalidParam_Password_Has_To_Be_At_Least_8_Characters_Long`)
    /// were seen; every code with this prefix is read as a refused password.
    pub const INVALIDPARAM_PASSWORD_PREFIX: &str = "INVALIDPARAM_PASSWORD";
    /// The password policy code the emulator answers for a short password. `[UNCONFIRMED]`
    pub const INVALIDPARAM_PASSWORD_TOO_SHORT: &str =
        "INVALIDPARAM_PASSWORD_HAS_TO_BE_AT_LEAST_8_CHARACTERS_LONG";
    /// `pwd` and `confpwd` differ. `[UNCONFIRMED]` spelling.
    pub const INVALIDPARAM_PASSWORD_MISMATCH: &str = "INVALIDPARAM_PASSWORD_CONFIRMATION";

    /// The answer to a `setUser` that turns the mobile add-on on when no mobile licence is free.
    /// `[UNCONFIRMED]`: no seat-count API or "no free seat" code is documented. adsync reads this
    /// code as "out of licences" only when the call asked for the add-on to be turned on.
    pub const MOBILE_LICENCE_REFUSED: &str = INVALIDPARAM_MOBILEADDON;
}

// Other unconfirmed choices, and where they are made:
//
// - Response layout (`wire.rs`): the status code is the first token; data follows on the same line
//   (the documentation's collapsed form) or after a line break (the wire form seen by clients);
//   hierarchy records are separated by blank lines or start at a repeated `NodeID`.
// - `createUser` / `createGroup` answer `OK <id>`; the id is the first integer after the status,
//   whatever separates them (`wire::parse_created`).
// - `setUser_v2` without `pwd`/`confpwd` keeps the user's password (`lib.rs`, updates).
// - `setGroup` without `permission` gives a new group no permissions to lose (`lib.rs`).
// - The root's `ParentID` may be `0`, empty or an id outside the tree; every other node's parent
//   must be in the tree, or the read counts as truncated (`wire::parse_hierarchy`).
// - A new user or group node, before `setUser`/`setGroup`, appears in the hierarchy with an empty
//   name and e-mail; ambiguous creates are verified by looking for one (`lib.rs`).
// - `getAccount`'s `Email` is the account holder's e-mail.
