//! Conditions over directory attributes: the `where:` of a pairing.
//!
//! ```text
//! condition  := or
//! or         := and ("or" and)*
//! and        := unary ("and" unary)*
//! unary      := "not" unary | "(" condition ")" | comparison
//! comparison := attribute ("eq" | "ne" | "startswith") literal
//!             | attribute "in" "(" literal ("," literal)* ")"
//! literal    := "text" | 'text' | true | false | null
//! ```
//!
//! Keywords are case-insensitive; attributes are Graph names ([`crate::attribute::kind_of`]).
//! In a double-quoted text `\"` and `\\` stand for `"` and `\`; in a single-quoted one `''`
//! stands for `'` (as in OData). Texts compare without regard to case, as Graph compares them; a
//! missing attribute equals `null` only, and `ne` is the negation of `eq`.
//!
//! Target-neutral: [`parse`] once, then [`Condition::matches`] over anything that implements
//! [`Attributes`]; `Display` prints a condition that parses back to the same value.

use std::fmt;

use crate::attribute::{self, Attributes, Kind, Value};

/// A parsed condition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Condition {
    /// `attribute eq|ne|startswith literal`.
    Compare {
        /// The attribute's Graph name.
        attribute: String,
        /// The comparison.
        op: Op,
        /// What it is compared with.
        value: Literal,
    },
    /// `attribute in (literal, …)`.
    In {
        /// The attribute's Graph name.
        attribute: String,
        /// The values, at least one.
        values: Vec<Literal>,
    },
    /// `not condition`.
    Not(Box<Condition>),
    /// Every one holds (at least two).
    And(Vec<Condition>),
    /// One holds (at least two).
    Or(Vec<Condition>),
}

/// A comparison.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// Equal (texts without regard to case).
    Eq,
    /// Not equal.
    Ne,
    /// The text starts with (without regard to case).
    StartsWith,
}

/// A literal value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Literal {
    /// A text.
    Text(String),
    /// `true` or `false`.
    Bool(bool),
    /// `null`: the attribute is missing.
    Null,
}

/// Why a condition does not parse: where (1-based character column) and what.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("column {column}: {message}")]
pub struct ParseError {
    /// 1-based column, in characters.
    pub column: usize,
    /// What is wrong.
    pub message: String,
}

/// Deeper nesting than this is refused (it would only ever be a mistake, and it bounds the
/// parser's stack).
const MAX_DEPTH: usize = 64;

/// Parses `text` and checks every attribute and literal against it.
pub fn parse(text: &str) -> Result<Condition, ParseError> {
    let tokens = lex(text)?;
    let mut parser = Parser {
        tokens,
        at: 0,
        depth: 0,
    };
    let condition = parser.or()?;
    match parser.peek() {
        (Token::End, _) => Ok(condition),
        (token, column) => Err(ParseError {
            column,
            message: format!(
                "expected `and`, `or` or the end, found {}",
                token.describe()
            ),
        }),
    }
}

impl Condition {
    /// Whether `user` satisfies the condition.
    pub fn matches(&self, user: &impl Attributes) -> bool {
        match self {
            Condition::Compare {
                attribute,
                op,
                value,
            } => compare(user.value(attribute), *op, value),
            Condition::In { attribute, values } => {
                let found = user.value(attribute);
                values.iter().any(|value| compare(found, Op::Eq, value))
            }
            Condition::Not(inner) => !inner.matches(user),
            Condition::And(all) => all.iter().all(|c| c.matches(user)),
            Condition::Or(any) => any.iter().any(|c| c.matches(user)),
        }
    }

    /// Every comparison in the order written, each with whether `user` satisfies it (for
    /// `explain`: which part selected a user or failed to).
    pub fn trace(&self, user: &impl Attributes) -> Vec<(String, bool)> {
        let mut out = Vec::new();
        self.visit(&mut |leaf| out.push((leaf.to_string(), leaf.matches(user))));
        out
    }

    /// The attributes the condition reads, each once, in the order first written.
    pub fn attributes(&self) -> Vec<&str> {
        let mut names: Vec<&str> = Vec::new();
        self.visit(&mut |leaf| {
            if let Condition::Compare { attribute, .. } | Condition::In { attribute, .. } = leaf
                && !names.contains(&attribute.as_str())
            {
                names.push(attribute);
            }
        });
        names
    }

    /// Calls `f` on every comparison, in the order written.
    fn visit<'a>(&'a self, f: &mut impl FnMut(&'a Condition)) {
        match self {
            Condition::Compare { .. } | Condition::In { .. } => f(self),
            Condition::Not(inner) => inner.visit(f),
            Condition::And(all) | Condition::Or(all) => all.iter().for_each(|c| c.visit(f)),
        }
    }
}

fn compare(found: Value<'_>, op: Op, literal: &Literal) -> bool {
    match op {
        Op::Eq => equal(found, literal),
        Op::Ne => !equal(found, literal),
        Op::StartsWith => match (found, literal) {
            (Value::Text(text), Literal::Text(prefix)) => fold(text).starts_with(&fold(prefix)),
            _ => false,
        },
    }
}

fn equal(found: Value<'_>, literal: &Literal) -> bool {
    match (found, literal) {
        (Value::Missing, Literal::Null) => true,
        (Value::Bool(found), Literal::Bool(wanted)) => found == *wanted,
        (Value::Text(found), Literal::Text(wanted)) => {
            found.eq_ignore_ascii_case(wanted) || fold(found) == fold(wanted)
        }
        _ => false,
    }
}

fn fold(text: &str) -> String {
    text.to_lowercase()
}

// ---------------------------------------------------------------------------------------------
// Printing

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Condition::Compare {
                attribute,
                op,
                value,
            } => write!(f, "{attribute} {op} {value}"),
            Condition::In { attribute, values } => {
                write!(f, "{attribute} in (")?;
                for (at, value) in values.iter().enumerate() {
                    let comma = if at == 0 { "" } else { ", " };
                    write!(f, "{comma}{value}")?;
                }
                f.write_str(")")
            }
            Condition::Not(inner) => match **inner {
                Condition::And(_) | Condition::Or(_) => write!(f, "not ({inner})"),
                _ => write!(f, "not {inner}"),
            },
            Condition::And(all) => join(f, all, "and", |c| {
                matches!(c, Condition::And(_) | Condition::Or(_))
            }),
            Condition::Or(any) => join(f, any, "or", |c| matches!(c, Condition::Or(_))),
        }
    }
}

fn join(
    f: &mut fmt::Formatter<'_>,
    parts: &[Condition],
    word: &str,
    needs_parentheses: fn(&Condition) -> bool,
) -> fmt::Result {
    for (at, part) in parts.iter().enumerate() {
        if at > 0 {
            write!(f, " {word} ")?;
        }
        if needs_parentheses(part) {
            write!(f, "({part})")?;
        } else {
            write!(f, "{part}")?;
        }
    }
    Ok(())
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Op::Eq => "eq",
            Op::Ne => "ne",
            Op::StartsWith => "startswith",
        })
    }
}

impl fmt::Display for Literal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Literal::Text(text) => {
                f.write_str("\"")?;
                for c in text.chars() {
                    if c == '"' || c == '\\' {
                        f.write_str("\\")?;
                    }
                    write!(f, "{c}")?;
                }
                f.write_str("\"")
            }
            Literal::Bool(value) => write!(f, "{value}"),
            Literal::Null => f.write_str("null"),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Lexing

#[derive(Clone, Debug, PartialEq, Eq)]
enum Token {
    Word(String),
    Text(String),
    Open,
    Close,
    Comma,
    End,
}

impl Token {
    fn describe(&self) -> String {
        match self {
            Token::Word(word) => format!("`{word}`"),
            Token::Text(text) => format!("the text {}", Literal::Text(text.clone())),
            Token::Open => "`(`".into(),
            Token::Close => "`)`".into(),
            Token::Comma => "`,`".into(),
            Token::End => "the end".into(),
        }
    }

    fn is_word(&self, keyword: &str) -> bool {
        matches!(self, Token::Word(word) if word.eq_ignore_ascii_case(keyword))
    }
}

fn lex(text: &str) -> Result<Vec<(Token, usize)>, ParseError> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut at = 0;
    while at < chars.len() {
        let column = at + 1;
        let c = chars[at];
        let token = match c {
            _ if c.is_whitespace() => {
                at += 1;
                continue;
            }
            '(' => Token::Open,
            ')' => Token::Close,
            ',' => Token::Comma,
            '"' | '\'' => {
                let (text, end) = quoted(&chars, at)?;
                at = end;
                tokens.push((Token::Text(text), column));
                continue;
            }
            _ if c.is_ascii_alphabetic() || c == '_' => {
                let end = (at..chars.len())
                    .find(|&i| !(chars[i].is_ascii_alphanumeric() || matches!(chars[i], '_' | '.')))
                    .unwrap_or(chars.len());
                let word: String = chars[at..end].iter().collect();
                at = end;
                tokens.push((Token::Word(word), column));
                continue;
            }
            _ => {
                return Err(ParseError {
                    column,
                    message: format!("unexpected `{c}`; texts go in quotes (\"Service Desk\")"),
                });
            }
        };
        tokens.push((token, column));
        at += 1;
    }
    tokens.push((Token::End, chars.len() + 1));
    Ok(tokens)
}

/// The text quoted at `start`, and where it ends.
fn quoted(chars: &[char], start: usize) -> Result<(String, usize), ParseError> {
    let quote = chars[start];
    let mut text = String::new();
    let mut at = start + 1;
    while let Some(&c) = chars.get(at) {
        match (c, chars.get(at + 1)) {
            ('\\', Some(&next)) if quote == '"' && (next == '"' || next == '\\') => {
                text.push(next);
                at += 2;
            }
            ('\'', Some('\'')) if quote == '\'' => {
                text.push('\'');
                at += 2;
            }
            _ if c == quote => return Ok((text, at + 1)),
            _ => {
                text.push(c);
                at += 1;
            }
        }
    }
    Err(ParseError {
        column: start + 1,
        message: format!("this text has no closing {quote}"),
    })
}

// ---------------------------------------------------------------------------------------------
// Parsing

struct Parser {
    tokens: Vec<(Token, usize)>,
    at: usize,
    depth: usize,
}

impl Parser {
    fn peek(&self) -> (&Token, usize) {
        let (token, column) = &self.tokens[self.at.min(self.tokens.len() - 1)];
        (token, *column)
    }

    fn next(&mut self) -> (Token, usize) {
        let (token, column) = self.peek();
        let token = token.clone();
        if self.at < self.tokens.len() - 1 {
            self.at += 1;
        }
        (token, column)
    }

    fn or(&mut self) -> Result<Condition, ParseError> {
        let mut parts = vec![self.and()?];
        while self.peek().0.is_word("or") {
            self.next();
            parts.push(self.and()?);
        }
        Ok(one_or(parts, Condition::Or))
    }

    fn and(&mut self) -> Result<Condition, ParseError> {
        let mut parts = vec![self.unary()?];
        while self.peek().0.is_word("and") {
            self.next();
            parts.push(self.unary()?);
        }
        Ok(one_or(parts, Condition::And))
    }

    fn unary(&mut self) -> Result<Condition, ParseError> {
        let (token, column) = self.peek();
        let (not, open) = (token.is_word("not"), *token == Token::Open);
        if self.depth >= MAX_DEPTH {
            return Err(ParseError {
                column,
                message: format!("nested more than {MAX_DEPTH} deep"),
            });
        }
        self.depth += 1;
        let result = if not {
            self.next();
            self.unary().map(|inner| Condition::Not(Box::new(inner)))
        } else if open {
            self.next();
            let inner = self.or();
            inner.and_then(|inner| self.expect(Token::Close, "`)`").map(|()| inner))
        } else {
            self.comparison()
        };
        self.depth -= 1;
        result
    }

    fn expect(&mut self, wanted: Token, what: &str) -> Result<(), ParseError> {
        match self.next() {
            (token, _) if token == wanted => Ok(()),
            (token, column) => Err(ParseError {
                column,
                message: format!("expected {what}, found {}", token.describe()),
            }),
        }
    }

    fn comparison(&mut self) -> Result<Condition, ParseError> {
        let (token, column) = self.next();
        let attribute = match token {
            Token::Word(word) if !is_keyword(&word) => word,
            other => {
                return Err(ParseError {
                    column,
                    message: format!(
                        "expected an attribute (department, accountEnabled, …), found {}",
                        other.describe()
                    ),
                });
            }
        };
        let kind =
            attribute::kind_of(&attribute).map_err(|message| ParseError { column, message })?;
        let (token, op_column) = self.next();
        let op = match &token {
            t if t.is_word("eq") => Op::Eq,
            t if t.is_word("ne") => Op::Ne,
            t if t.is_word("startswith") => Op::StartsWith,
            t if t.is_word("in") => return self.in_list(attribute, kind),
            other => {
                return Err(ParseError {
                    column: op_column,
                    message: format!(
                        "expected `eq`, `ne`, `startswith` or `in` after `{attribute}`, found {}",
                        other.describe()
                    ),
                });
            }
        };
        let (value, value_column) = self.literal()?;
        check_literal(&attribute, kind, op, &value, value_column)?;
        Ok(Condition::Compare {
            attribute,
            op,
            value,
        })
    }

    fn in_list(&mut self, attribute: String, kind: Kind) -> Result<Condition, ParseError> {
        self.expect(Token::Open, "`(` opening the list")?;
        let mut values = Vec::new();
        loop {
            let (value, column) = self.literal()?;
            check_literal(&attribute, kind, Op::Eq, &value, column)?;
            values.push(value);
            match self.next() {
                (Token::Comma, _) => continue,
                (Token::Close, _) => break,
                (token, column) => {
                    return Err(ParseError {
                        column,
                        message: format!("expected `,` or `)`, found {}", token.describe()),
                    });
                }
            }
        }
        Ok(Condition::In { attribute, values })
    }

    fn literal(&mut self) -> Result<(Literal, usize), ParseError> {
        let (token, column) = self.next();
        let literal = match token {
            Token::Text(text) => Literal::Text(text),
            t if t.is_word("true") => Literal::Bool(true),
            t if t.is_word("false") => Literal::Bool(false),
            t if t.is_word("null") => Literal::Null,
            other => {
                return Err(ParseError {
                    column,
                    message: format!(
                        "expected a quoted text, true, false or null, found {}",
                        other.describe()
                    ),
                });
            }
        };
        Ok((literal, column))
    }
}

fn one_or(mut parts: Vec<Condition>, many: fn(Vec<Condition>) -> Condition) -> Condition {
    if parts.len() == 1 {
        parts.remove(0)
    } else {
        many(parts)
    }
}

const KEYWORDS: [&str; 10] = [
    "and",
    "or",
    "not",
    "eq",
    "ne",
    "startswith",
    "in",
    "true",
    "false",
    "null",
];

fn is_keyword(word: &str) -> bool {
    KEYWORDS.iter().any(|k| k.eq_ignore_ascii_case(word))
}

/// A text attribute takes texts and `null`; `accountEnabled` takes `true` and `false`;
/// `startswith` takes a text.
fn check_literal(
    attribute: &str,
    kind: Kind,
    op: Op,
    value: &Literal,
    column: usize,
) -> Result<(), ParseError> {
    let fits = match (kind, op, value) {
        (Kind::Text, Op::StartsWith, Literal::Text(_)) => true,
        (_, Op::StartsWith, _) => false,
        (Kind::Text, _, Literal::Text(_) | Literal::Null) => true,
        (Kind::Bool, _, Literal::Bool(_)) => true,
        _ => false,
    };
    if fits {
        return Ok(());
    }
    let expected = match (kind, op) {
        (Kind::Text, Op::StartsWith) => "a quoted text",
        (Kind::Text, _) => "a quoted text or null",
        (Kind::Bool, Op::StartsWith) => "an operator other than startswith",
        (Kind::Bool, _) => "true or false",
    };
    Err(ParseError {
        column,
        message: format!("`{attribute} {op}` takes {expected}, not {value}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::DirectoryUser;

    fn user(department: Option<&str>, enabled: bool) -> DirectoryUser {
        let mut user: DirectoryUser = serde_json::from_value(serde_json::json!({
            "id": "u1", "upn": "jane@contoso.com", "display_name": "Jane Doe",
        }))
        .expect("a user");
        user.department = department.map(str::to_owned);
        user.account_enabled = enabled;
        user.attributes.insert(
            "onPremisesExtensionAttributes.extensionAttribute3".into(),
            "rescue-L2".into(),
        );
        user
    }

    #[test]
    fn the_issue_example_selects_as_written() {
        let condition =
            parse(r#"department eq "Service Desk" and accountEnabled eq true"#).expect("parses");
        assert!(condition.matches(&user(Some("service desk"), true)));
        assert!(!condition.matches(&user(Some("Service Desk"), false)));
        assert!(!condition.matches(&user(None, true)));
        assert_eq!(
            condition.trace(&user(Some("Sales"), true)),
            vec![
                (r#"department eq "Service Desk""#.to_owned(), false),
                ("accountEnabled eq true".to_owned(), true),
            ]
        );
    }

    #[test]
    fn every_operator_means_what_it_says() {
        let u = user(Some("Service Desk"), true);
        for (text, expected) in [
            ("department ne 'Sales'", true),
            ("department startswith 'serv'", true),
            ("department startswith 'desk'", false),
            ("department in ('Sales', \"SERVICE DESK\")", true),
            ("not department eq 'Service Desk'", false),
            ("department eq 'Sales' or accountEnabled eq true", true),
            (
                "not (department eq 'Sales' or accountEnabled eq false)",
                true,
            ),
            ("mail eq null", true),
            ("mail ne null", false),
            (
                "onPremisesExtensionAttributes.extensionAttribute3 eq 'rescue-l2'",
                true,
            ),
            ("employeeId startswith 'x'", false),
            ("DEPARTMENT eq 'x'", false),
        ] {
            match parse(text) {
                Ok(c) => assert_eq!(c.matches(&u), expected, "{text}"),
                Err(error) => assert!(!expected && text.starts_with("DEP"), "{text}: {error}"),
            }
        }
    }

    #[test]
    fn errors_point_at_the_column() {
        for (text, column, words) in [
            ("department eq", 14, "expected a quoted text"),
            ("department eq \"Sales", 15, "no closing"),
            ("departmnt eq 'x'", 1, "unknown attribute `departmnt`"),
            ("department is 'x'", 12, "expected `eq`, `ne`"),
            ("accountEnabled eq 'yes'", 19, "takes true or false"),
            ("department eq 'x' and", 22, "expected an attribute"),
            ("(department eq 'x'", 19, "expected `)`"),
            (
                "department eq 'x' accountEnabled",
                19,
                "expected `and`, `or`",
            ),
            ("department eq 'x' = 1", 19, "unexpected `=`"),
            ("department in ('a' 'b')", 20, "expected `,` or `)`"),
        ] {
            let error = parse(text).expect_err(text);
            assert_eq!(error.column, column, "{text}: {error}");
            assert!(error.message.contains(words), "{text}: {error}");
        }
    }

    #[test]
    fn deep_nesting_is_refused_not_overflowed() {
        let deep = format!(
            "{}department eq 'x'{}",
            "(".repeat(10_000),
            ")".repeat(10_000)
        );
        assert!(
            parse(&deep)
                .expect_err("too deep")
                .message
                .contains("nested")
        );
        let nots = format!("{}department eq 'x'", "not ".repeat(10_000));
        assert!(parse(&nots).is_err());
    }

    #[test]
    fn printing_keeps_grouping_and_quotes() {
        let condition = parse(
            r#"(a_b eq 'x' or department eq 'it''s') and not (department eq "a\"b\\" and mail eq null)"#
                .replace("a_b", "jobTitle")
                .as_str(),
        )
        .expect("parses");
        let printed = condition.to_string();
        assert_eq!(
            printed,
            r#"(jobTitle eq "x" or department eq "it's") and not (department eq "a\"b\\" and mail eq null)"#
        );
        assert_eq!(parse(&printed), Ok(condition));
    }
}
