//! Properties of what parses the requests' input, over inputs drawn from a seed (printed; give it
//! again as `CTLCLOUD_TEST_SEED`): request bodies, paths and their percent-encoding.

mod common;

use common::random::{encode, Leaves, Rng};
use ctlcloud::http::body;
use ctlcloud::http::endpoints::ENDPOINTS;
use ctlcloud::http::router::{self, percent_decode, Method};
use serde_json::{json, Value};

const CASES: usize = 5_000;

/// Any characters, the troublesome ones often.
fn random_text(rng: &mut Rng, most: usize) -> String {
    (0..rng.below(most + 1))
        .map(|_| match rng.below(5) {
            0 => char::from_u32(rng.below(0x11_0000) as u32).unwrap_or('\u{fffd}'),
            1 => char::from(rng.below(128) as u8),
            _ => *rng.pick(&[
                'a', 'Z', '7', ' ', '%', '+', '&', '=', '{', '[', '"', '/', '?', '\\',
            ]),
        })
        .collect()
}

/// The leaves of random JSON: keys and strings of any characters, numbers of every kind.
const LEAVES: Leaves = Leaves {
    key: short_text,
    string: short_text,
    number: random_number,
    members: 4,
};

fn short_text(rng: &mut Rng) -> String {
    random_text(rng, 10)
}

fn random_number(rng: &mut Rng) -> Value {
    match rng.below(3) {
        0 => json!(rng.next() as i64),
        1 => json!(rng.next()),
        _ => json!(rng.below(1_000_000) as f64 / 64.0),
    }
}

const CONTENT_TYPES: &[Option<&str>] = &[
    None,
    Some("application/json"),
    Some("application/json; charset=utf-8"),
    Some("application/x-www-form-urlencoded"),
    Some("text/plain"),
    Some(""),
    Some(";;;"),
];

#[test]
fn any_body_is_parsed_or_refused_with_a_message() {
    let (mut rng, seed) = Rng::from_env();
    for _ in 0..CASES {
        let bytes: Vec<u8> = match rng.below(3) {
            0 => (0..rng.below(64)).map(|_| rng.next() as u8).collect(),
            1 => random_text(&mut rng, 64).into_bytes(),
            _ => {
                let text = LEAVES.value(&mut rng, 0).to_string();
                let cut = rng.below(text.len() + 1);
                text.as_bytes()[..cut].to_vec()
            }
        };
        let content_type = *rng.pick(CONTENT_TYPES);
        if let Err(refusal) = body::parse(content_type, &bytes) {
            assert_eq!(refusal.status.as_u16(), 400, "seed {seed}: {bytes:?}");
            assert!(!refusal.message.is_empty(), "seed {seed}: {bytes:?}");
        }
    }
}

#[test]
fn json_objects_and_arrays_are_read_as_they_were_written_bare_or_wrapped_in_a_string() {
    let (mut rng, seed) = Rng::from_env();
    for _ in 0..CASES {
        let value = match rng.chance(50) {
            true => LEAVES.object(&mut rng, 0),
            false => LEAVES.array(&mut rng, 0),
        };
        // An empty object is read as no body at all.
        let expected = match &value {
            Value::Object(fields) if fields.is_empty() => Value::Null,
            v => v.clone(),
        };
        let text = value.to_string();
        let wrapped = Value::String(text.clone()).to_string();
        for (content_type, sent) in [
            (Some("application/json"), &text),
            (None, &text),
            (Some("application/x-www-form-urlencoded"), &text),
            (Some("application/json"), &wrapped),
        ] {
            let read = body::parse(content_type, sent.as_bytes());
            assert_eq!(
                read.as_ref().ok(),
                Some(&expected),
                "seed {seed}: {content_type:?} {sent}: {:?}",
                read.as_ref().err().map(|e| &e.message)
            );
        }
    }
}

#[test]
fn form_fields_are_read_as_strings_and_repeated_keys_as_arrays() {
    let (mut rng, seed) = Rng::from_env();
    for _ in 0..CASES {
        let mut pairs: Vec<(String, String)> = Vec::new();
        for _ in 0..1 + rng.below(5) {
            let key = format!("k{}", random_text(&mut rng, 6).trim_end_matches("[]"));
            let repeats = if rng.chance(20) { 2 } else { 1 };
            for _ in 0..repeats {
                pairs.push((key.clone(), random_text(&mut rng, 10)));
            }
        }
        let text = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(&pairs)
            .finish();
        let read = body::parse(Some("application/x-www-form-urlencoded"), text.as_bytes())
            .unwrap_or_else(|e| panic!("seed {seed}: {text}: {}", e.message));
        for (key, _) in &pairs {
            let values: Vec<&str> = pairs
                .iter()
                .filter(|(k, _)| k == key)
                .map(|(_, v)| v.as_str())
                .collect();
            let expected = match values.as_slice() {
                [one] => json!(one),
                many => json!(many),
            };
            assert_eq!(read[key], expected, "seed {seed}: {text}");
        }
    }
}

#[test]
fn percent_encoding_is_undone_exactly() {
    let (mut rng, seed) = Rng::from_env();
    for _ in 0..CASES {
        let text = random_text(&mut rng, 20);
        assert_eq!(percent_decode(&encode(&text)), text, "seed {seed}");
        // Anything else decodes to something, and text without a `%` to itself.
        let raw = random_text(&mut rng, 20);
        let decoded = percent_decode(&raw);
        if !raw.contains('%') {
            assert_eq!(decoded, raw, "seed {seed}");
        }
    }
}

/// A path parameter that cannot be mistaken for a literal segment: it starts with `~`.
fn random_param(rng: &mut Rng) -> String {
    format!("~{}", random_text(rng, 12))
}

#[test]
fn every_endpoint_is_found_with_any_parameters_and_gives_them_back_decoded() {
    let (mut rng, seed) = Rng::from_env();
    for _ in 0..CASES / 10 {
        for endpoint in ENDPOINTS {
            let mut given = Vec::new();
            let path: Vec<String> = endpoint
                .path
                .split('/')
                .map(|segment| match segment.strip_prefix('{') {
                    Some(name) => {
                        let value = random_param(&mut rng);
                        given.push((name.trim_end_matches('}'), value.clone()));
                        encode(&value)
                    }
                    None => segment.to_owned(),
                })
                .collect();
            let path = path.join("/");
            let matched = router::route(endpoint.method, &path)
                .unwrap_or_else(|e| panic!("seed {seed}: {path}: {e:?}"));
            assert_eq!(matched.endpoint.path, endpoint.path, "seed {seed}: {path}");
            for (name, value) in given {
                assert_eq!(matched.param(name), value, "seed {seed}: {path}");
            }
        }
    }
}

#[test]
fn any_path_is_routed_or_refused() {
    let (mut rng, seed) = Rng::from_env();
    let words = [
        "",
        "v2",
        "servers",
        "groups",
        "DEMO",
        "WA1",
        "operations",
        "..",
        "%2F",
    ];
    for _ in 0..CASES {
        let path: String = (0..rng.below(9))
            .map(|_| match rng.chance(50) {
                true => format!("/{}", rng.pick(&words)),
                false => format!("/{}", random_text(&mut rng, 8)),
            })
            .collect();
        let method = *rng.pick(&[
            Method::Get,
            Method::Post,
            Method::Put,
            Method::Patch,
            Method::Delete,
        ]);
        // Found, not found, or found with other methods (which are named): never a panic.
        if let Err(router::NoMatch::MethodNotAllowed(allowed)) = router::route(method, &path) {
            assert!(!allowed.is_empty(), "seed {seed}: {path}");
            assert!(!allowed.contains(&method), "seed {seed}: {path}");
        }
    }
}
