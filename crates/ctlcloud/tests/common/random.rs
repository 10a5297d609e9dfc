//! Inputs drawn from a seed, for the tests that send random requests or parse random input.

/// splitmix64: small, fast, and enough to draw test inputs from a seed.
pub struct Rng(pub u64);

impl Rng {
    /// Seeded from `CTLCLOUD_TEST_SEED`, or at random; the seed is printed, to be given again.
    pub fn from_env() -> (Rng, u64) {
        let seed = match std::env::var("CTLCLOUD_TEST_SEED") {
            Ok(seed) => seed.parse().expect("CTLCLOUD_TEST_SEED is a number"),
            Err(_) => {
                let mut bytes = [0; 8];
                getrandom::getrandom(&mut bytes).unwrap();
                u64::from_le_bytes(bytes)
            }
        };
        println!("seed {seed} (CTLCLOUD_TEST_SEED={seed} draws the same inputs again)");
        (Rng(seed), seed)
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// True `percent` times in a hundred.
    pub fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// Percent-encodes everything but unreserved characters, so that any string can be a segment.
pub fn encode(segment: &str) -> String {
    segment
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Where random JSON takes its leaves from: object keys, strings and numbers.
pub struct Leaves {
    pub key: fn(&mut Rng) -> String,
    pub string: fn(&mut Rng) -> String,
    pub number: fn(&mut Rng) -> serde_json::Value,
    /// The most members an object gets.
    pub members: usize,
}

impl Leaves {
    /// A JSON value of any kind, nested at most three deep below `depth`.
    pub fn value(&self, rng: &mut Rng, depth: usize) -> serde_json::Value {
        use serde_json::Value;
        match rng.below(if depth >= 3 { 4 } else { 6 }) {
            0 => Value::Null,
            1 => Value::Bool(rng.chance(50)),
            2 => (self.number)(rng),
            3 => Value::String((self.string)(rng)),
            4 => self.array(rng, depth + 1),
            _ => self.object(rng, depth + 1),
        }
    }

    pub fn object(&self, rng: &mut Rng, depth: usize) -> serde_json::Value {
        let members = (0..rng.below(self.members + 1))
            .map(|_| ((self.key)(rng), self.value(rng, depth)))
            .collect();
        serde_json::Value::Object(members)
    }

    pub fn array(&self, rng: &mut Rng, depth: usize) -> serde_json::Value {
        let items = (0..rng.below(4)).map(|_| self.value(rng, depth)).collect();
        serde_json::Value::Array(items)
    }
}
