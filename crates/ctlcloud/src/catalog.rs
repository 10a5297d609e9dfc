//! The catalog of data centers and templates: shipped in the binary, replaceable by a file.

use serde::Deserialize;

const BUILT_IN: &str = include_str!("catalog.toml");

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Catalog {
    #[serde(rename = "datacenter")]
    pub datacenters: Vec<DataCenter>,
    #[serde(rename = "template")]
    pub templates: Vec<Template>,
    #[serde(rename = "bare_metal_sku", default)]
    pub bare_metal_skus: Vec<BareMetalSku>,
    #[serde(rename = "bare_metal_os", default)]
    pub bare_metal_os: Vec<BareMetalOs>,
    pub linux: Family,
    pub windows: Family,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataCenter {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub bare_metal: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Family {
    pub reserved_drive_paths: Vec<String>,
}

#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum OsFamily {
    Linux,
    Windows,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Template {
    pub name: String,
    pub description: String,
    pub os_type: String,
    pub os: String,
    pub family: OsFamily,
    #[serde(default)]
    pub capabilities: Vec<String>,
    /// Each disk as `[size_gb, partition paths...]`.
    pub disks: Vec<toml::Value>,
    #[serde(default)]
    pub datacenters: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BareMetalSku {
    pub id: String,
    pub hourly_rate: f64,
    pub availability: String,
    pub memory_gb: Vec<u32>,
    pub cores_per_socket: u32,
    pub sockets: u32,
    pub processor: String,
    pub storage: Vec<BareMetalStorage>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BareMetalStorage {
    pub capacity_gb: u32,
    pub speed_rpm: u32,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BareMetalOs {
    #[serde(rename = "type")]
    pub os_type: String,
    pub description: String,
    pub hourly_rate_per_socket: f64,
}

/// A template disk: its size and the partition paths mounted on it.
#[derive(Clone, Debug, PartialEq)]
pub struct TemplateDisk {
    pub size_gb: i64,
    pub paths: Vec<String>,
}

impl Catalog {
    /// The catalog shipped in the binary.
    pub fn built_in() -> Catalog {
        Catalog::parse(BUILT_IN).expect("the built-in catalog is valid")
    }

    /// Reads a catalog file.
    pub fn load(path: &std::path::Path) -> Result<Catalog, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read catalog {}: {e}", path.display()))?;
        Catalog::parse(&text).map_err(|e| format!("catalog {}: {e}", path.display()))
    }

    pub fn parse(text: &str) -> Result<Catalog, String> {
        let catalog: Catalog = toml::from_str(text).map_err(|e| e.to_string())?;
        if catalog.datacenters.is_empty() {
            return Err("the catalog names no data center".into());
        }
        for t in &catalog.templates {
            t.disks().map_err(|e| format!("template {}: {e}", t.name))?;
        }
        Ok(catalog)
    }

    /// A data center by id, any case.
    pub fn datacenter(&self, id: &str) -> Option<&DataCenter> {
        self.datacenters
            .iter()
            .find(|d| d.id.eq_ignore_ascii_case(id))
    }

    /// The templates offered in a data center.
    pub fn templates_in<'a>(&'a self, dc: &'a str) -> impl Iterator<Item = &'a Template> + 'a {
        self.templates.iter().filter(move |t| t.offered_in(dc))
    }

    /// A template by name (any case) if it is offered in the data center.
    pub fn template(&self, dc: &str, name: &str) -> Option<&Template> {
        self.templates
            .iter()
            .find(|t| t.offered_in(dc) && t.name.eq_ignore_ascii_case(name))
    }

    pub fn family(&self, family: OsFamily) -> &Family {
        match family {
            OsFamily::Linux => &self.linux,
            OsFamily::Windows => &self.windows,
        }
    }
}

impl Template {
    pub fn offered_in(&self, dc: &str) -> bool {
        self.datacenters
            .as_ref()
            .is_none_or(|dcs| dcs.iter().any(|d| d.eq_ignore_ascii_case(dc)))
    }

    /// The template's disks, in order.
    pub fn disks(&self) -> Result<Vec<TemplateDisk>, String> {
        self.disks
            .iter()
            .map(|d| {
                let parts = d.as_array().ok_or("a disk is [size_gb, paths...]")?;
                let size_gb = parts
                    .first()
                    .and_then(toml::Value::as_integer)
                    .filter(|s| *s > 0)
                    .ok_or("a disk starts with its size in GB")?;
                let paths = parts[1..]
                    .iter()
                    .map(|p| {
                        p.as_str()
                            .map(str::to_owned)
                            .ok_or("partition paths are strings")
                    })
                    .collect::<Result<_, _>>()?;
                Ok(TemplateDisk { size_gb, paths })
            })
            .collect()
    }

    pub fn storage_gb(&self) -> i64 {
        self.disks()
            .unwrap_or_default()
            .iter()
            .map(|d| d.size_gb)
            .sum()
    }

    /// The administrator account the credentials endpoint names.
    pub fn admin_user(&self) -> &'static str {
        match self.family {
            OsFamily::Linux => "root",
            OsFamily::Windows => "Administrator",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_catalog_has_the_documented_data_centers_and_templates() {
        let c = Catalog::built_in();
        for dc in [
            "CA1", "CA2", "CA3", "DE1", "GB1", "GB3", "IL1", "NY1", "UC1", "UT1", "VA1", "WA1",
        ] {
            assert!(c.datacenter(dc).is_some(), "{dc}");
        }
        for t in [
            "RHEL-6-64-TEMPLATE",
            "CENTOS-6-64-TEMPLATE",
            "CENTOS-7-64-TEMPLATE",
            "UBUNTU-14-64-TEMPLATE",
            "UBUNTU-16-64-TEMPLATE",
            "WIN2012R2DTC-64",
        ] {
            let template = c.template("wa1", t).unwrap();
            assert!(template.storage_gb() > 0);
        }
    }

    #[test]
    fn bad_catalogs_are_refused_with_a_reason() {
        assert!(Catalog::parse("").is_err());
        let broken = include_str!("catalog.toml").replace("[[1, \"/boot\"]", "[[\"x\"]");
        assert!(Catalog::parse(&broken).unwrap_err().contains("template"));
    }
}
