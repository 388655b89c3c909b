//! The part of OData `$filter` the emulator serves on `GET /users`: `eq`, `ne`, `in`,
//! `startswith(…)`, `not(…)`, `and`, `or`, parentheses, `'text'` (with `''`), `true`, `false`,
//! `null`, and property paths (`onPremisesExtensionAttributes/extensionAttribute7`). Parsed
//! from Graph's syntax on its own (not adsync's), into adsync's condition type for evaluation.

use adsync_core::condition::{Condition, Literal, Op};

/// A parsed filter and whether Graph would need an advanced query for it (`ne`, `not`, or an
/// on-premises extension attribute).
pub(crate) struct Parsed {
    pub(crate) condition: Condition,
    pub(crate) advanced: bool,
}

/// Parses `text`; `None` for anything outside the subset (Graph answers "Unsupported Query").
pub(crate) fn parse(text: &str) -> Option<Parsed> {
    let tokens = tokens(text)?;
    let mut parser = Parser {
        tokens,
        at: 0,
        advanced: false,
    };
    let condition = parser.or()?;
    (parser.at == parser.tokens.len()).then_some(Parsed {
        condition,
        advanced: parser.advanced,
    })
}

#[derive(Clone, Debug, PartialEq)]
enum Token {
    Word(String),
    Text(String),
    Open,
    Close,
    Comma,
}

fn tokens(text: &str) -> Option<Vec<Token>> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut at = 0;
    while at < chars.len() {
        match chars[at] {
            c if c.is_whitespace() => at += 1,
            '(' => (out.push(Token::Open), at += 1).1,
            ')' => (out.push(Token::Close), at += 1).1,
            ',' => (out.push(Token::Comma), at += 1).1,
            '\'' => {
                let mut value = String::new();
                at += 1;
                loop {
                    match (chars.get(at)?, chars.get(at + 1)) {
                        ('\'', Some('\'')) => (value.push('\''), at += 2).1,
                        ('\'', _) => break,
                        (&c, _) => (value.push(c), at += 1).1,
                    }
                }
                at += 1;
                out.push(Token::Text(value));
            }
            c if c.is_ascii_alphanumeric() || c == '_' => {
                let start = at;
                while chars
                    .get(at)
                    .is_some_and(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '/'))
                {
                    at += 1;
                }
                out.push(Token::Word(chars[start..at].iter().collect()));
            }
            _ => return None,
        }
    }
    Some(out)
}

struct Parser {
    tokens: Vec<Token>,
    at: usize,
    advanced: bool,
}

impl Parser {
    fn peek_word(&self, word: &str) -> bool {
        matches!(self.tokens.get(self.at), Some(Token::Word(w)) if w.eq_ignore_ascii_case(word))
    }

    fn next(&mut self) -> Option<Token> {
        let token = self.tokens.get(self.at).cloned();
        self.at += 1;
        token
    }

    fn expect(&mut self, token: Token) -> Option<()> {
        (self.next()? == token).then_some(())
    }

    fn or(&mut self) -> Option<Condition> {
        let mut parts = vec![self.and()?];
        while self.peek_word("or") {
            self.at += 1;
            parts.push(self.and()?);
        }
        Some(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Condition::Or(parts)
        })
    }

    fn and(&mut self) -> Option<Condition> {
        let mut parts = vec![self.unary()?];
        while self.peek_word("and") {
            self.at += 1;
            parts.push(self.unary()?);
        }
        Some(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Condition::And(parts)
        })
    }

    fn unary(&mut self) -> Option<Condition> {
        if self.peek_word("not") {
            self.at += 1;
            self.advanced = true;
            return Some(Condition::Not(Box::new(self.unary()?)));
        }
        if self.tokens.get(self.at) == Some(&Token::Open) {
            self.at += 1;
            let inner = self.or()?;
            self.expect(Token::Close)?;
            return Some(inner);
        }
        if self.peek_word("startswith") {
            self.at += 1;
            self.expect(Token::Open)?;
            let attribute = self.property()?;
            self.expect(Token::Comma)?;
            let value = self.literal()?;
            self.expect(Token::Close)?;
            return Some(Condition::Compare {
                attribute,
                op: Op::StartsWith,
                value,
            });
        }
        let attribute = self.property()?;
        let Token::Word(op) = self.next()? else {
            return None;
        };
        match op.as_str() {
            "eq" | "ne" => {
                self.advanced |= op == "ne";
                let op = if op == "eq" { Op::Eq } else { Op::Ne };
                let value = self.literal()?;
                Some(Condition::Compare {
                    attribute,
                    op,
                    value,
                })
            }
            "in" => {
                self.expect(Token::Open)?;
                let mut values = vec![self.literal()?];
                while self.tokens.get(self.at) == Some(&Token::Comma) {
                    self.at += 1;
                    values.push(self.literal()?);
                }
                self.expect(Token::Close)?;
                Some(Condition::In { attribute, values })
            }
            _ => None,
        }
    }

    /// A property path, in adsync's naming (`onPremisesExtensionAttributes.extensionAttribute7`).
    fn property(&mut self) -> Option<String> {
        let Token::Word(path) = self.next()? else {
            return None;
        };
        if path.starts_with("onPremisesExtensionAttributes/") {
            self.advanced = true;
        }
        Some(path.replace('/', "."))
    }

    fn literal(&mut self) -> Option<Literal> {
        match self.next()? {
            Token::Text(text) => Some(Literal::Text(text)),
            Token::Word(word) if word == "true" => Some(Literal::Bool(true)),
            Token::Word(word) if word == "false" => Some(Literal::Bool(false)),
            Token::Word(word) if word == "null" => Some(Literal::Null),
            _ => None,
        }
    }
}
