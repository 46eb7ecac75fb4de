//! Unit tests of `keys::manage` on an in-memory database.

use std::collections::HashSet;

use super::*;
use crate::store::keys::RuntimeKeys;
use crate::store::{open_migrated, Location};

fn input(name: &str) -> CreateInput {
    CreateInput {
        name: name.into(),
        workspace: "ws".into(),
        scopes: None,
        limits: None,
        test: false,
    }
}

#[test]
fn create_rotate_revoke_and_the_map_follows() {
    let conn = open_migrated(&Location::Memory).unwrap();
    let none = HashSet::new();
    let (k, secret) = create(&conn, input("app"), &none, 1_000).unwrap();
    assert!(k.id.starts_with("key_") && secret.starts_with("sy_live_"));
    assert_eq!(k.prefix, &secret[..12]);
    let keys = RuntimeKeys::default();
    keys.refresh(&conn).unwrap();
    let found = keys.find(&digest(&secret), 2_000).unwrap();
    assert_eq!((&*found.id, &*found.name, found.revoked), (k.id.as_str(), "app", false));

    let (r, new_secret) = rotate(&conn, "app", 60, 10_000).unwrap();
    assert_eq!(r.id, k.id, "rotation keeps the identity");
    keys.refresh(&conn).unwrap();
    assert!(keys.find(&digest(&new_secret), 20_000).is_some());
    assert!(keys.find(&digest(&secret), 69_999).is_some(), "inside the grace window");
    assert!(keys.find(&digest(&secret), 70_000).is_none(), "after it");

    revoke(&conn, &k.id, 30_000).unwrap();
    keys.refresh(&conn).unwrap();
    assert!(keys.find(&digest(&new_secret), 31_000).unwrap().revoked);
    assert_eq!(rotate(&conn, "app", 0, 40_000).unwrap_err().code, "key_revoked");
}

#[test]
fn refusals_name_the_problem() {
    let conn = open_migrated(&Location::Memory).unwrap();
    let taken: HashSet<String> = ["yaml-key".to_string()].into();
    create(&conn, input("a"), &taken, 1).unwrap();
    assert_eq!(create(&conn, input("a"), &taken, 1).unwrap_err().code, "key_name_taken");
    assert_eq!(create(&conn, input("yaml-key"), &taken, 1).unwrap_err().status, 409);
    assert_eq!(create(&conn, input("bad name"), &taken, 1).unwrap_err().status, 400);
    let mut i = input("b");
    i.scopes = Some(ScopesInput {
        endpoints: vec!["everything".into()],
        models: vec!["*".into()],
    });
    assert!(create(&conn, i, &taken, 1)
        .unwrap_err()
        .message
        .contains("unknown scope"));
    assert_eq!(rotate(&conn, "nope", 0, 1).unwrap_err().status, 404);
    let u = update(
        &conn,
        "a",
        UpdateInput {
            limits: Some(RawLimits {
                requests_per_minute: Some(5),
                ..Default::default()
            }),
            ..Default::default()
        },
        &taken,
    )
    .unwrap();
    assert_eq!(u.limits.requests_per_minute, Some(5));
    let v = view(&u, 0);
    assert!(v.get("digest").is_none() && v["prefix"].as_str().unwrap().starts_with("sy_live_"));
}
