//! The README's coverage table is the router's endpoint table, and every row answers as it says.

#[test]
fn readme_coverage_table_matches_the_router() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md")).unwrap();
    let start = readme
        .find("<!-- coverage:begin -->\n")
        .expect("README has the coverage markers")
        + 24;
    let end = readme.find("<!-- coverage:end -->").unwrap();
    assert_eq!(
        &readme[start..end],
        ctlcloud::coverage_table(),
        "README's coverage table is stale: replace it with the output of `ctlcloud coverage`"
    );
}

#[test]
fn every_row_is_reachable_and_answers_its_own_operation() {
    use ctlcloud::http::{endpoints::ENDPOINTS, router};
    for e in ENDPOINTS {
        let path: String = e
            .path
            .split('/')
            .map(|s| if s.starts_with('{') { "x1" } else { s })
            .collect::<Vec<_>>()
            .join("/");
        let matched = router::route(e.method, &path)
            .unwrap_or_else(|_| panic!("{} {} is unreachable", e.method.as_str(), e.path));
        assert_eq!(
            matched.endpoint.path,
            e.path,
            "{} {} is shadowed",
            e.method.as_str(),
            e.path
        );
        assert_eq!(matched.endpoint.op, e.op);
    }
}
