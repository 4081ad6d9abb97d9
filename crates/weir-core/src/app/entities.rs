//! `config/entities.json`: the custom objects of Freshworks entity storage, which handlers
//! reach through `$db.entity({version: "v1"}).get("<entity>")`:
//!
//! ```json
//! {"restaurants": {"fields": [
//!   {"name": "restaurant_name", "label": "Name", "type": "text", "required": true},
//!   {"name": "short_code", "label": "Code", "type": "text", "filterable": true},
//!   {"name": "location", "label": "Address", "type": "section", "fields": [
//!     {"name": "loc_zipcode", "label": "Zipcode", "type": "text", "filterable": true}]},
//!   {"name": "status", "label": "Status", "type": "enum", "filterable": true,
//!    "choices": [{"id": 1, "value": "Pending"}, {"id": 2, "value": "Cataloged"}]}]}}
//! ```
//!
//! From the Freshworks docs: at most five entities and twenty fields an entity; the field
//! types below; a field name is alphanumeric with underscores and starts with a letter;
//! `choices` (`{id, value}`) belong to `enum` fields; a `section` groups fields (its
//! fields are the record's own, not nested in its data) and can be neither required nor
//! filterable.
//!
//! Guessed, as the docs do not say: an entity name follows the field-name rule; names are
//! at most [`MAX_NAME_CHARS`] characters; `label` may be left out; sections count towards
//! no limit, only the fields they hold do; field names are unique across an entity,
//! sections included (the record's data is flat).

use serde_json::Value;

use super::json::Node;
use super::problem::{PackageProblem, Problems};

pub const FILE: &str = "config/entities.json";
/// An app declares at most this many entities (docs).
pub const MAX_ENTITIES: usize = 5;
/// An entity holds at most this many fields, not counting sections (docs).
pub const MAX_FIELDS: usize = 20;
/// Entity and field names (a guess: the docs give none).
pub const MAX_NAME_CHARS: usize = 30;

/// The types of a field that holds data; `section` is not one, it only groups fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    /// A single line, at most 64 characters.
    Text,
    /// Long text, at most 2048 characters.
    Paragraph,
    /// A whole number of at most 15 digits.
    Integer,
    /// A number of at most 15 digits before the point.
    Float,
    /// An ISO 8601 date and time.
    Datetime,
    /// A checkbox: `true` or `false`.
    Boolean,
    /// A dropdown: one of the field's `choices`, by value.
    Enum,
    /// `YYYY-MM-DD`.
    Date,
}

impl FieldType {
    const ALL: [FieldType; 8] = [
        FieldType::Text,
        FieldType::Paragraph,
        FieldType::Integer,
        FieldType::Float,
        FieldType::Datetime,
        FieldType::Boolean,
        FieldType::Enum,
        FieldType::Date,
    ];

    /// As `entities.json` names it.
    pub fn as_str(self) -> &'static str {
        match self {
            FieldType::Text => "text",
            FieldType::Paragraph => "paragraph",
            FieldType::Integer => "integer",
            FieldType::Float => "float",
            FieldType::Datetime => "datetime",
            FieldType::Boolean => "boolean",
            FieldType::Enum => "enum",
            FieldType::Date => "date",
        }
    }

    fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == name)
    }
}

/// The type that groups fields.
const SECTION: &str = "section";

/// One entity (custom object) the app declares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntityDefinition {
    pub name: String,
    /// Every field that holds data, those inside sections included, in the file's order.
    pub fields: Vec<EntityField>,
    /// The entity's declaration as the file gives it: what `schema()` shows.
    pub declaration: Value,
}

impl EntityDefinition {
    pub fn field(&self, name: &str) -> Option<&EntityField> {
        self.fields.iter().find(|f| f.name == name)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntityField {
    pub name: String,
    pub label: Option<String>,
    pub kind: FieldType,
    /// A record must have a value for it.
    pub required: bool,
    /// `getAll` may filter on it.
    pub filterable: bool,
    /// The values an `enum` field takes; empty for the other types.
    pub choices: Vec<Choice>,
    /// The section that holds the field, if one does (the innermost).
    pub section: Option<String>,
}

/// One option of an `enum` field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    pub id: i64,
    pub value: String,
}

const ENTITY_MEMBERS: &[&str] = &["fields"];
const FIELD_MEMBERS: &[&str] = &[
    "name",
    "label",
    "type",
    "required",
    "filterable",
    "choices",
    "fields",
];
const CHOICE_MEMBERS: &[&str] = &["id", "value"];

pub(super) fn parse(root: &Node, problems: &mut Problems) -> Vec<EntityDefinition> {
    let members = problems.take(root.members()).unwrap_or_default();
    if members.len() > MAX_ENTITIES {
        problems.push(root.problem(format!(
            "declares {} entities; an app may declare at most {MAX_ENTITIES}",
            members.len()
        )));
    }
    members
        .into_iter()
        .filter_map(|(name, node)| entity(name, &node, problems))
        .collect()
}

/// Whether `name` may name an entity or a field: a letter, then letters, digits and
/// underscores. `Err` says what is wrong.
fn check_name(name: &str) -> Result<(), String> {
    let mut chars = name.chars();
    let starts_with_letter = chars.next().is_some_and(|c| c.is_ascii_alphabetic());
    if !starts_with_letter || !chars.all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(
            "must start with a letter and hold only letters, digits and underscores".into(),
        );
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(format!("must be at most {MAX_NAME_CHARS} characters"));
    }
    Ok(())
}

fn entity(name: &str, node: &Node, problems: &mut Problems) -> Option<EntityDefinition> {
    let count = problems.len();
    if let Err(why) = check_name(name) {
        problems.push(node.problem(format!("the entity name {name:?} {why}")));
    }
    problems.take(node.members())?;
    for problem in node.unknown_members(ENTITY_MEMBERS) {
        problems.push(problem);
    }
    let Some(list) = node.get("fields") else {
        problems.push(node.problem("needs \"fields\", an array of field objects"));
        return None;
    };
    let mut found = Vec::new();
    fields(&list, None, &mut found, problems);
    let mut seen: Vec<&str> = Vec::new();
    for (name, pointer) in found.iter().map(|(f, at)| (f.name(), at)) {
        if seen.contains(&name) {
            let message = format!("the field name {name:?} is used twice in the entity");
            problems.push(PackageProblem::new(FILE, pointer.as_str(), message));
        }
        seen.push(name);
    }
    let fields: Vec<EntityField> = found
        .into_iter()
        .filter_map(|(found, _)| match found {
            Found::Field(field) => Some(field),
            Found::Section(_) => None,
        })
        .collect();
    if fields.is_empty() && problems.len() == count {
        problems.push(list.problem("declares no field that holds data"));
    }
    if fields.len() > MAX_FIELDS {
        problems.push(list.problem(format!(
            "declares {} fields; an entity may have at most {MAX_FIELDS}",
            fields.len()
        )));
    }
    if problems.len() > count {
        return None;
    }
    Some(EntityDefinition {
        name: name.to_owned(),
        fields,
        declaration: node.value.clone(),
    })
}

/// What a field object declares: a field, or a section (by its name) whose fields
/// follow it in the list.
enum Found {
    Field(EntityField),
    Section(String),
}

impl Found {
    fn name(&self) -> &str {
        match self {
            Found::Field(field) => &field.name,
            Found::Section(name) => name,
        }
    }
}

/// Reads the field objects of `list` into `found`, each with its JSON pointer; a section's
/// fields follow it.
fn fields(
    list: &Node,
    section: Option<&str>,
    found: &mut Vec<(Found, String)>,
    problems: &mut Problems,
) {
    for node in problems.take(list.items()).unwrap_or_default() {
        field(&node, section, found, problems);
    }
}

fn field(
    node: &Node,
    section: Option<&str>,
    found: &mut Vec<(Found, String)>,
    problems: &mut Problems,
) {
    if problems.take(node.members()).is_none() {
        return;
    }
    let count = problems.len();
    for problem in node.unknown_members(FIELD_MEMBERS) {
        problems.push(problem);
    }
    let name = required_string(node, "name", problems).and_then(|(name, at)| {
        let checked = check_name(name).map_err(|why| at.problem(format!("{name:?} {why}")));
        problems.take(checked).map(|()| name.to_owned())
    });
    let label = node
        .get("label")
        .and_then(|n| problems.take(n.string()).map(str::to_owned));
    let required = flag(node, "required", problems);
    let filterable = flag(node, "filterable", problems);
    let kind = required_string(node, "type", problems).and_then(|(kind, at)| {
        if kind == SECTION {
            return Some(None);
        }
        let parsed = FieldType::parse(kind).map(Some).ok_or_else(|| {
            let known: Vec<&str> = FieldType::ALL.iter().map(|t| t.as_str()).collect();
            at.problem(format!(
                "unknown type {kind:?} (one of: {}, {SECTION})",
                known.join(", ")
            ))
        });
        problems.take(parsed)
    });
    let Some(kind) = kind else {
        return;
    };
    let Some(kind) = kind else {
        // A section: it groups fields, and holds no data itself.
        for (key, set) in [("required", required), ("filterable", filterable)] {
            if set {
                let at = node.get(key).unwrap_or_else(|| node.clone());
                problems.push(at.problem(format!("a section cannot be {key}")));
            }
        }
        if let Some(choices) = node.get("choices") {
            problems.push(choices.problem("only an enum field has choices"));
        }
        let Some(name) = name else {
            return;
        };
        found.push((Found::Section(name.clone()), node.pointer.clone()));
        match node.get("fields") {
            Some(list) => fields(&list, Some(&name), found, problems),
            None => problems.push(node.problem("a section needs \"fields\", the fields it groups")),
        }
        return;
    };
    if let Some(list) = node.get("fields") {
        problems.push(list.problem("only a section has fields"));
    }
    let choices = match (kind, node.get("choices")) {
        (FieldType::Enum, Some(list)) => choices(&list, problems),
        (FieldType::Enum, None) => {
            problems.push(node.problem("an enum field needs \"choices\", its options"));
            Vec::new()
        }
        (_, Some(list)) => {
            problems.push(list.problem("only an enum field has choices"));
            Vec::new()
        }
        (_, None) => Vec::new(),
    };
    let Some(name) = name.filter(|_| problems.len() == count) else {
        return;
    };
    let field = EntityField {
        name,
        label,
        kind,
        required,
        filterable,
        choices,
        section: section.map(str::to_owned),
    };
    found.push((Found::Field(field), node.pointer.clone()));
}

fn choices(list: &Node, problems: &mut Problems) -> Vec<Choice> {
    let Some(items) = problems.take(list.items()) else {
        return Vec::new();
    };
    if items.is_empty() {
        problems.push(list.problem("an enum field needs at least one choice"));
    }
    let mut choices: Vec<Choice> = Vec::new();
    for item in items {
        if problems.take(item.members()).is_none() {
            continue;
        }
        for problem in item.unknown_members(CHOICE_MEMBERS) {
            problems.push(problem);
        }
        let id = match item.get("id") {
            Some(id) => problems.take(id.integer(1..=i64::from(i32::MAX))),
            None => {
                problems.push(item.problem("a choice needs an \"id\", a whole number"));
                None
            }
        };
        let value = required_string(&item, "value", problems).and_then(|(value, at)| {
            let blank = value.trim().is_empty();
            problems.take(match blank {
                true => Err(at.problem("must not be blank")),
                false => Ok(value.to_owned()),
            })
        });
        let (Some(id), Some(value)) = (id, value) else {
            continue;
        };
        if choices.iter().any(|c| c.id == id) {
            problems.push(item.problem(format!("the choice id {id} is used twice")));
        } else if choices.iter().any(|c| c.value == value) {
            problems.push(item.problem(format!("the choice {value:?} is given twice")));
        } else {
            choices.push(Choice { id, value });
        }
    }
    choices
}

fn flag(node: &Node, key: &str, problems: &mut Problems) -> bool {
    node.get(key)
        .and_then(|n| problems.take(n.boolean()))
        .unwrap_or(false)
}

fn required_string<'a>(
    node: &Node<'a>,
    key: &str,
    problems: &mut Problems,
) -> Option<(&'a str, Node<'a>)> {
    match node.get(key) {
        None => {
            problems.push(node.problem(format!("needs a \"{key}\"")));
            None
        }
        Some(value) => problems.take(value.string()).map(|s| (s, value)),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::app::json;

    /// The entities of `value`, or every problem as `"<pointer>: <message>"`.
    fn read(value: Value) -> Result<Vec<EntityDefinition>, Vec<String>> {
        let text = value.to_string();
        let parsed = json::parse_file(FILE, text.as_bytes()).unwrap();
        let mut problems = Problems::default();
        let entities = parse(&Node::root(FILE, &parsed), &mut problems);
        let problems = problems.into_vec();
        assert!(problems.iter().all(|p| p.file == FILE));
        match problems.is_empty() {
            true => Ok(entities),
            false => Err(problems
                .iter()
                .map(|p| format!("{}: {}", p.location, p.message))
                .collect()),
        }
    }

    #[test]
    fn reads_the_docs_example_with_a_section_and_an_enum() {
        let entities = read(json!({"restaurants": {"fields": [
            {"name": "restaurant_name", "label": "Name", "type": "text", "required": true},
            {"name": "short_code", "label": "Short-Code", "type": "text", "filterable": true,
             "required": true},
            {"name": "location", "label": "Address", "type": "section", "fields": [
                {"name": "loc_pin", "label": "Map", "type": "paragraph"},
                {"name": "loc_zipcode", "label": "Zipcode", "type": "text", "filterable": true}]},
            {"name": "status", "label": "catalog_status", "type": "enum", "filterable": true,
             "choices": [{"id": 1, "value": "Pending"}, {"id": 2, "value": "Cataloged"}]}
        ]}}))
        .unwrap();
        assert_eq!(entities.len(), 1);
        let restaurants = &entities[0];
        assert_eq!(restaurants.name, "restaurants");
        let names: Vec<&str> = restaurants.fields.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "restaurant_name",
                "short_code",
                "loc_pin",
                "loc_zipcode",
                "status"
            ]
        );
        let zipcode = restaurants.field("loc_zipcode").unwrap();
        assert_eq!(zipcode.section.as_deref(), Some("location"));
        assert!(zipcode.filterable && !zipcode.required);
        let status = restaurants.field("status").unwrap();
        assert_eq!(status.kind, FieldType::Enum);
        assert_eq!(
            status.choices,
            [
                Choice {
                    id: 1,
                    value: "Pending".into()
                },
                Choice {
                    id: 2,
                    value: "Cataloged".into()
                }
            ]
        );
        assert_eq!(restaurants.declaration["fields"][2]["type"], "section");
    }

    #[test]
    fn every_problem_is_located() {
        let problems = read(json!({
            "1bad": {"fields": [{"name": "a", "type": "text"}]},
            "tickets": {"fields": [
                {"name": "a", "type": "number"},
                {"name": "b-c", "type": "text"},
                {"type": "text"},
                {"name": "d", "type": "enum"},
                {"name": "e", "type": "text", "choices": [{"id": 1, "value": "x"}]},
                {"name": "f", "type": "section", "required": true, "fields": []},
                {"name": "g", "type": "enum", "choices": [{"id": 1, "value": "x"},
                                                          {"id": 1, "value": "y"}]},
                {"name": "h", "type": "text", "filterable": "yes", "colour": "red"},
                {"name": "i", "type": "text"},
                {"name": "i", "type": "boolean"}
            ]},
            "empty": {"fields": []},
            "nofields": {"columns": []}
        }))
        .unwrap_err();
        assert_eq!(
            problems,
            [
                "/1bad: the entity name \"1bad\" must start with a letter and hold only \
                 letters, digits and underscores",
                "/tickets/fields/0/type: unknown type \"number\" (one of: text, paragraph, \
                 integer, float, datetime, boolean, enum, date, section)",
                "/tickets/fields/1/name: \"b-c\" must start with a letter and hold only \
                 letters, digits and underscores",
                "/tickets/fields/2: needs a \"name\"",
                "/tickets/fields/3: an enum field needs \"choices\", its options",
                "/tickets/fields/4/choices: only an enum field has choices",
                "/tickets/fields/5/required: a section cannot be required",
                "/tickets/fields/6/choices/1: the choice id 1 is used twice",
                "/tickets/fields/7/colour: unknown field \"colour\" (expected one of: name, \
                 label, type, required, filterable, choices, fields)",
                "/tickets/fields/7/filterable: must be true or false",
                "/tickets/fields/9: the field name \"i\" is used twice in the entity",
                "/empty/fields: declares no field that holds data",
                "/nofields/columns: unknown field \"columns\" (expected one of: fields)",
                "/nofields: needs \"fields\", an array of field objects",
            ]
        );
    }

    #[test]
    fn limits_are_five_entities_and_twenty_fields() {
        let field = |i: usize| json!({"name": format!("f{i}"), "type": "integer"});
        let many: Vec<Value> = (0..21).map(field).collect();
        let problems = read(json!({"big": {"fields": many}})).unwrap_err();
        assert_eq!(
            problems,
            ["/big/fields: declares 21 fields; an entity may have at most 20"]
        );
        // Sections do not count; the fields they hold do.
        let mut twenty: Vec<Value> = (0..19).map(field).collect();
        twenty.push(json!({"name": "s", "type": "section", "fields": [field(19)]}));
        assert!(read(json!({"fits": {"fields": twenty}})).is_ok());

        let entity = json!({"fields": [field(0)]});
        let six: serde_json::Map<String, Value> =
            (0..6).map(|i| (format!("e{i}"), entity.clone())).collect();
        let problems = read(Value::Object(six)).unwrap_err();
        assert_eq!(
            problems,
            [": declares 6 entities; an app may declare at most 5"]
        );
        let long = "x".repeat(31);
        let problems = read(json!({long.clone(): entity})).unwrap_err();
        assert_eq!(
            problems,
            [format!(
                "/{long}: the entity name {long:?} must be at most 30 characters"
            )]
        );
    }
}
