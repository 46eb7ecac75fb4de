//! Arbitrary bytes as a client request body into each client codec's `parse`; whatever parses is
//! prepared for every model (lossless pass-through or adapter, as the proxy does) and also rendered
//! by each model's adapter directly. No panic; every rendered body is a JSON object.
#![no_main]

use libfuzzer_sys::fuzz_target;
use switchyard::api::codec;
use switchyard::providers::adapter;
use switchyard::translate::prepare;
use switchyard_fuzz::{is_json_object, models, SCHEMAS};

fuzz_target!(|data: &[u8]| {
    for schema in SCHEMAS {
        let Ok(parsed) = codec(schema).parse(data) else { continue };
        for m in models() {
            if let Ok(p) = prepare(schema, m, &parsed.request, data) {
                assert!(
                    is_json_object(&p.body),
                    "{schema:?} -> {}: prepared body is not a JSON object: {}",
                    m.id,
                    String::from_utf8_lossy(&p.body)
                );
            }
            let a = adapter(m.provider.kind);
            if a.check(&parsed.request, m).is_ok() {
                if let Ok(r) = a.render(&parsed.request, m) {
                    assert!(
                        is_json_object(&r.body),
                        "{schema:?} -> {} (adapter): rendered body is not a JSON object: {}",
                        m.id,
                        String::from_utf8_lossy(&r.body)
                    );
                }
            }
        }
    }
});
