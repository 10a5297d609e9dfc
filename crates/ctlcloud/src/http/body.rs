//! Lenient request bodies. Clients send JSON, form fields (Python's SDK, Ansible), a JSON document
//! wrapped in a JSON string (Go's SDK), numbers and booleans as strings, explicit nulls, and keys in
//! any case. All of it becomes one JSON value, read through [`Fields`].

use serde_json::{Map, Value};

use super::error::{ApiError, ApiResult};

/// Parses a body of any of the accepted forms. An empty body, `""`, `{}` and `null` become `Null`.
pub fn parse(content_type: Option<&str>, bytes: &[u8]) -> ApiResult<Value> {
    let text = std::str::from_utf8(bytes)
        .map_err(|_| ApiError::bad_request("The request body is not valid UTF-8."))?
        .trim();
    if text.is_empty() {
        return Ok(Value::Null);
    }
    let media = content_type
        .and_then(|c| c.split(';').next())
        .map(|c| c.trim().to_ascii_lowercase())
        .unwrap_or_default();
    // curl and other tools label any `-d` body as a form: a body that is plainly JSON is JSON.
    let looks_like_json = text.starts_with(['{', '[', '"']);
    let value = if media == "application/x-www-form-urlencoded" && !looks_like_json {
        parse_form(text)
    } else {
        match serde_json::from_str::<Value>(text) {
            Ok(Value::String(inner)) if inner.trim().is_empty() => Value::Null,
            Ok(Value::String(inner)) => serde_json::from_str(&inner).map_err(|e| {
                ApiError::bad_request(format!(
                    "The request body is a string that is not JSON: {e}."
                ))
            })?,
            Ok(v) => v,
            Err(_)
                if !media.contains("json")
                    && text.contains('=')
                    && !text.starts_with(['{', '[']) =>
            {
                parse_form(text)
            }
            Err(e) => {
                return Err(ApiError::bad_request(format!(
                    "The request body is not valid JSON: {e}."
                )))
            }
        }
    };
    Ok(match value {
        Value::Object(map) if map.is_empty() => Value::Null,
        v => v,
    })
}

/// Form fields as a JSON object of strings; a key given more than once becomes an array.
fn parse_form(text: &str) -> Value {
    let mut map = Map::new();
    for (key, value) in form_urlencoded::parse(text.as_bytes()) {
        let key = key.trim_end_matches("[]").to_owned();
        let value = Value::String(value.into_owned());
        match map.get_mut(&key) {
            Some(Value::Array(items)) => items.push(value),
            Some(existing) => *existing = Value::Array(vec![existing.take(), value]),
            None => {
                map.insert(key, value);
            }
        }
    }
    Value::Object(map)
}

/// Read access to an object's members: names match in any case, and `null` or `""` count as absent.
#[derive(Clone, Copy)]
pub struct Fields<'a> {
    map: Option<&'a Map<String, Value>>,
}

impl<'a> Fields<'a> {
    /// The members of a body that must be an object (or absent).
    pub fn of(value: &'a Value) -> ApiResult<Fields<'a>> {
        match value {
            Value::Null => Ok(Fields { map: None }),
            Value::Object(map) => Ok(Fields { map: Some(map) }),
            _ => Err(ApiError::bad_request(
                "The request body must be a JSON object.",
            )),
        }
    }

    pub fn get(&self, name: &str) -> Option<&'a Value> {
        let map = self.map?;
        let value = map.get(name).or_else(|| {
            map.iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v)
        })?;
        match value {
            Value::Null => None,
            Value::String(s) if s.trim().is_empty() => None,
            v => Some(v),
        }
    }

    /// A text member; numbers and booleans are accepted as their text.
    pub fn str(&self, name: &str) -> ApiResult<Option<String>> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.trim().to_owned())),
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            Some(Value::Bool(b)) => Ok(Some(b.to_string())),
            Some(_) => Err(ApiError::invalid(name, format!("{name} must be a string."))),
        }
    }

    pub fn required_str(&self, name: &str) -> ApiResult<String> {
        self.str(name)?
            .ok_or_else(|| ApiError::invalid(name, format!("{name} is required.")))
    }

    /// A whole number, given as a JSON number or a numeric string.
    pub fn int(&self, name: &str) -> ApiResult<Option<i64>> {
        let bad = || ApiError::invalid(name, format!("{name} must be a whole number."));
        match self.get(name) {
            None => Ok(None),
            Some(Value::Number(n)) => n
                .as_i64()
                .or_else(|| {
                    n.as_f64()
                        .filter(|f| f.fract() == 0.0 && f.abs() < 1e15)
                        .map(|f| f as i64)
                })
                .map(Some)
                .ok_or_else(bad),
            Some(Value::String(s)) => s.trim().parse().map(Some).map_err(|_| bad()),
            Some(_) => Err(bad()),
        }
    }

    /// A whole number within bounds.
    pub fn int_in(
        &self,
        name: &str,
        range: std::ops::RangeInclusive<i64>,
    ) -> ApiResult<Option<i64>> {
        match self.int(name)? {
            Some(v) if !range.contains(&v) => Err(ApiError::invalid(
                name,
                format!(
                    "{name} must be between {} and {}.",
                    range.start(),
                    range.end()
                ),
            )),
            v => Ok(v),
        }
    }

    /// A boolean, given as a JSON boolean or as `true`/`false` in any case.
    pub fn bool(&self, name: &str) -> ApiResult<Option<bool>> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(Value::String(s)) if s.trim().eq_ignore_ascii_case("true") => Ok(Some(true)),
            Some(Value::String(s)) if s.trim().eq_ignore_ascii_case("false") => Ok(Some(false)),
            Some(_) => Err(ApiError::invalid(
                name,
                format!("{name} must be true or false."),
            )),
        }
    }

    /// An array member; a single value (a form field given once) counts as an array of one.
    pub fn list(&self, name: &str) -> Vec<&'a Value> {
        match self.get(name) {
            None => Vec::new(),
            Some(Value::Array(items)) => items.iter().collect(),
            Some(v) => vec![v],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(v: &Value) -> Fields<'_> {
        Fields::of(v).unwrap()
    }

    #[test]
    fn json_form_and_string_wrapped_json_are_one_thing() {
        let json = parse(Some("application/json"), br#"{"Name":"web","cpu":"2"}"#).unwrap();
        let form = parse(
            Some("Application/x-www-form-urlencoded; charset=utf-8"),
            b"name=web&cpu=2",
        )
        .unwrap();
        let wrapped = parse(
            Some("application/json"),
            br#""{\"name\": \"web\", \"cpu\": 2}""#,
        )
        .unwrap();
        for v in [&json, &form, &wrapped] {
            assert_eq!(fields(v).str("name").unwrap().as_deref(), Some("web"));
            assert_eq!(fields(v).int("cpu").unwrap(), Some(2));
        }
    }

    #[test]
    fn json_sent_with_a_form_content_type_is_json() {
        let v = parse(
            Some("application/x-www-form-urlencoded"),
            br#"{"name": "web", "cpu": 2}"#,
        )
        .unwrap();
        assert_eq!(fields(&v).int("cpu").unwrap(), Some(2));
        let v = parse(
            Some("application/x-www-form-urlencoded"),
            br#"["WA1DEMOWEB01"]"#,
        )
        .unwrap();
        assert!(v.is_array());
    }

    #[test]
    fn empty_forms_of_no_body() {
        for body in [&b""[..], b"  ", b"\"\"", b"{}", b"null"] {
            assert_eq!(parse(Some("application/json"), body).unwrap(), Value::Null);
        }
        assert_eq!(
            parse(Some("application/x-www-form-urlencoded"), b"").unwrap(),
            Value::Null
        );
    }

    #[test]
    fn repeated_form_keys_become_arrays() {
        let v = parse(
            Some("application/x-www-form-urlencoded"),
            b"ports=tcp%2F80&ports=udp%2F53&x=1",
        )
        .unwrap();
        let f = fields(&v);
        assert_eq!(f.list("ports").len(), 2);
        assert_eq!(f.list("x").len(), 1);
    }

    #[test]
    fn nulls_and_empty_strings_are_absent_and_booleans_are_lenient() {
        let v: Value = serde_json::json!({"password": null, "ipAddress": "", "isManagedOS": "True", "b": false});
        let f = fields(&v);
        assert_eq!(f.str("password").unwrap(), None);
        assert_eq!(f.str("ipaddress").unwrap(), None);
        assert_eq!(f.bool("isManagedOs").unwrap(), Some(true));
        assert_eq!(f.bool("b").unwrap(), Some(false));
    }

    #[test]
    fn bad_values_name_the_field() {
        let v: Value = serde_json::json!({"cpu": "two", "memoryGB": 2.5, "x": [1]});
        let f = fields(&v);
        assert_eq!(f.int("cpu").unwrap_err().field.as_deref(), Some("cpu"));
        assert!(f.int("memoryGB").is_err());
        assert!(f.str("x").is_err());
        assert!(f.int_in("cpu", 1..=16).is_err());
        assert!(parse(None, b"{not json").is_err());
        assert!(Fields::of(&serde_json::json!([1])).is_err());
    }

    /// A small deterministic generator, so that failures reproduce.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        fn pick<'a>(&mut self, items: &[&'a [u8]]) -> &'a [u8] {
            items[self.next() as usize % items.len()]
        }
    }

    #[test]
    fn any_input_parses_or_is_refused_with_a_400_and_never_panics() {
        let pieces: &[&[u8]] = &[
            b"{",
            b"}",
            b"[",
            b"]",
            b"\"",
            b":",
            b",",
            b"=",
            b"&",
            b"%",
            b"%2",
            b"%zz",
            b"+",
            b"null",
            b"true",
            b"1e999",
            b"-0",
            b"\\u0000",
            b"\\ud800",
            b"cpu",
            b"Name",
            b" ",
            b"\n",
            b"\xff",
            b"\xc3\xa9",
            b"\"{\\\"a\\\":1}\"",
        ];
        let types = [
            None,
            Some("application/json"),
            Some("application/x-www-form-urlencoded"),
            Some("text/plain"),
            Some("APPLICATION/JSON; charset=x"),
        ];
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        for _ in 0..20_000 {
            let len = rng.next() % 12;
            let body: Vec<u8> = (0..len).flat_map(|_| rng.pick(pieces).to_vec()).collect();
            let content_type = types[rng.next() as usize % types.len()];
            match parse(content_type, &body) {
                Ok(value) => {
                    if let Ok(f) = Fields::of(&value) {
                        for name in ["cpu", "name", "Name", "x"] {
                            let _ = (
                                f.str(name),
                                f.int(name),
                                f.bool(name),
                                f.list(name),
                                f.int_in(name, 1..=16),
                            );
                        }
                    }
                }
                Err(e) => assert_eq!(e.status, axum::http::StatusCode::BAD_REQUEST, "{body:?}"),
            }
        }
    }

    #[test]
    fn integers_round_trip_through_every_spelling() {
        let mut rng = Rng(42);
        for _ in 0..2_000 {
            let n = (rng.next() % 2_000_000) as i64 - 1_000_000;
            for v in [
                serde_json::json!({ "n": n }),
                serde_json::json!({ "N": n.to_string() }),
                serde_json::json!({ "n": format!(" {n} ") }),
            ] {
                assert_eq!(fields(&v).int("n").unwrap(), Some(n));
            }
            let form = parse(
                Some("application/x-www-form-urlencoded"),
                format!("n={n}").as_bytes(),
            )
            .unwrap();
            assert_eq!(fields(&form).int("n").unwrap(), Some(n));
        }
    }
}
