//! `<%= … %>` substitution, as the platform runs it over request URLs, options, request
//! templates and registered webhooks' headers (lodash-style, REFERENCE §1).
//!
//! Expressions are JavaScript over the variables given (`iparam`, `context`,
//! `access_token`, `oauth_iparams`) plus `encode(x)`, base64 of `x`. Each expression runs
//! in a runtime of its own, with nothing of the platform in it and a short time limit.
//! `null` and `undefined` print as nothing, as lodash prints them.

use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rquickjs::context::EvalOptions;
use rquickjs::{CatchResultExt, Context, Function, Runtime};
use serde_json::Value;

const TIME_LIMIT: Duration = Duration::from_millis(200);
const MEMORY_LIMIT: usize = 16 * 1024 * 1024;

/// Why a template could not be rendered. Apps see the platform's one text for all of
/// these; the detail is for logs and `weir dev`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateError {
    pub detail: String,
}

impl TemplateError {
    /// What the platform answers (with status 400).
    pub const MESSAGE: &str = "Error while substituting the templates";
}

/// Renders every `<%= expression %>` in `template` over `variables` (a JSON object).
pub fn render(template: &str, variables: &Value) -> Result<String, TemplateError> {
    if !template.contains("<%") {
        return Ok(template.to_owned());
    }
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find("<%=") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 3..];
        let end = after.find("%>").ok_or_else(|| TemplateError {
            detail: "a <%= is never closed by %>".into(),
        })?;
        out.push_str(&evaluate(after[..end].trim(), variables)?);
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Renders every string inside a JSON value (keys stay as they are).
pub fn render_value(value: &Value, variables: &Value) -> Result<Value, TemplateError> {
    Ok(match value {
        Value::String(text) => Value::String(render(text, variables)?),
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|item| render_value(item, variables))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(fields) => Value::Object(
            fields
                .iter()
                .map(|(name, item)| Ok((name.clone(), render_value(item, variables)?)))
                .collect::<Result<_, TemplateError>>()?,
        ),
        other => other.clone(),
    })
}

fn evaluate(expression: &str, variables: &Value) -> Result<String, TemplateError> {
    let failed = |detail: String| TemplateError { detail };
    let runtime = Runtime::new().map_err(|e| failed(e.to_string()))?;
    runtime.set_memory_limit(MEMORY_LIMIT);
    let deadline = Instant::now() + TIME_LIMIT;
    runtime.set_interrupt_handler(Some(Box::new(move || Instant::now() >= deadline)));
    let context = Context::full(&runtime).map_err(|e| failed(e.to_string()))?;
    context.with(|ctx| {
        let encode = Function::new(ctx.clone(), |text: rquickjs::Coerced<String>| {
            STANDARD.encode(text.0)
        })
        .catch(&ctx)
        .map_err(|e| failed(e.to_string()))?;
        ctx.globals()
            .set("encode", encode)
            .catch(&ctx)
            .map_err(|e| failed(e.to_string()))?;
        // `with` (sloppy mode) makes the variables' names the expression's own.
        let source = format!("(function (vars) {{ with (vars) {{ return ({expression}\n); }} }})",);
        let mut options = EvalOptions::default();
        options.global = true;
        options.strict = false;
        options.filename = Some("template".into());
        let function: Function = ctx
            .eval_with_options(source, options)
            .catch(&ctx)
            .map_err(|e| failed(e.to_string()))?;
        let vars = ctx
            .json_parse(variables.to_string())
            .catch(&ctx)
            .map_err(|e| failed(e.to_string()))?;
        let result: rquickjs::Value = function
            .call((vars,))
            .catch(&ctx)
            .map_err(|e| failed(e.to_string()))?;
        if result.is_null() || result.is_undefined() {
            return Ok(String::new());
        }
        let text: rquickjs::Coerced<String> = result
            .get()
            .catch(&ctx)
            .map_err(|e| failed(e.to_string()))?;
        Ok(text.0)
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn vars() -> Value {
        json!({"iparam": {"api_key": "abc", "domain": "acme.example.com", "port": 8443}, "context": {"id": 7}})
    }

    #[test]
    fn substitutes_expressions_as_the_samples_write_them() {
        let cases = [
            (
                "Basic <%= encode(iparam.api_key + ':X') %>",
                "Basic YWJjOlg=",
            ),
            ("<%= encode(iparam.api_key) + ':x' %>", "YWJj:x"),
            (
                "https://<%= iparam.domain %>:<%=iparam.port%>/tickets/<%= context.id %>",
                "https://acme.example.com:8443/tickets/7",
            ),
            ("no templates here", "no templates here"),
            ("<%= iparam.missing %>|<%= null %>", "|"),
        ];
        for (template, expected) in cases {
            assert_eq!(render(template, &vars()).unwrap(), expected, "{template}");
        }
    }

    #[test]
    fn renders_inside_json_values() {
        let options =
            json!({"headers": {"Authorization": "Bearer <%= iparam.api_key %>"}, "maxAttempts": 2});
        assert_eq!(
            render_value(&options, &vars()).unwrap(),
            json!({"headers": {"Authorization": "Bearer abc"}, "maxAttempts": 2})
        );
    }

    #[test]
    fn broken_or_runaway_expressions_fail_cleanly() {
        for template in [
            "<%= iparam. %>",
            "<%= nothing.here %>",
            "<%= iparam.api_key",
            "<%= (function () { for (;;) {} })() %>",
        ] {
            assert!(render(template, &vars()).is_err(), "{template}");
        }
    }
}
