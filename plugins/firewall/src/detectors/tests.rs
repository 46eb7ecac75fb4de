//! Each detector on texts it must find (with the exact span) and texts it must not fire on.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::*;

fn found(text: &str, d: Detector) -> Vec<&str> {
    detect(text, &[d]).into_iter().map(|m| &text[m.range]).collect()
}

fn assert_finds(d: Detector, cases: &[(&str, &str)]) {
    for (text, want) in cases {
        assert_eq!(found(text, d), vec![*want], "{d} in {text:?}");
    }
}

fn assert_quiet(d: Detector, texts: &[&str]) {
    for text in texts {
        assert_eq!(found(text, d), Vec::<&str>::new(), "{d} must not fire on {text:?}");
    }
}

#[test]
fn email() {
    assert_finds(
        Detector::Email,
        &[
            ("mail john.doe+tag@example.co.uk today", "john.doe+tag@example.co.uk"),
            ("<jane_smith@mail.example.org>", "jane_smith@mail.example.org"),
            ("write to ops@example.com.", "ops@example.com"),
            ("a@b.io", "a@b.io"),
            (
                "mailto:x-y%z@sub-domain.example.net?subject=hi",
                "x-y%z@sub-domain.example.net",
            ),
        ],
    );
    assert_quiet(
        Detector::Email,
        &[
            "user@localhost",
            "follow @handle on the site",
            "foo@bar.c",
            "npm i left-pad@1.3.0",
            "a..b@example.com",
            "x@-bad.com",
            "@Override public void run()",
            "name@ domain.com",
            "price @ 3.50 each",
        ],
    );
}

#[test]
fn phone() {
    assert_finds(
        Detector::Phone,
        &[
            ("call +1 (415) 555-2671 now", "+1 (415) 555-2671"),
            ("office: +44 20 7946 0958.", "+44 20 7946 0958"),
            ("+49-30-1234567", "+49-30-1234567"),
            ("Paris +33 1 23 45 67 89", "+33 1 23 45 67 89"),
            ("+33.1.23.45.67.89", "+33.1.23.45.67.89"),
            ("E.164: +14155552671", "+14155552671"),
            ("(555) 123-4567", "(555) 123-4567"),
            ("ring 555-123-4567, thanks", "555-123-4567"),
            ("555.123.4567", "555.123.4567"),
            ("toll free 1-800-555-0199", "1-800-555-0199"),
            ("1 (800) 555-0199", "1 (800) 555-0199"),
            ("London 020 7946 0958", "020 7946 0958"),
            ("(030) 1234567", "(030) 1234567"),
            ("tel. 01 23 45 67 89", "01 23 45 67 89"),
            ("call 555 123 4567 now", "555 123 4567"),
            ("Room 12 555-123-4567", "555-123-4567"),
        ],
    );
    assert_quiet(
        Detector::Phone,
        &[
            "order 5551234567 shipped",
            "timestamp 1710513000 and 1710513000123",
            "in 2024 we grew",
            "it costs $1,299.99",
            "upgrade to v1.2.3",
            "on 2024-03-15 at 12:30:45",
            "ISBN 978-3-16-148410-0",
            "+5 points for +12 degrees",
            "dial 555-1234",
            "ref 1234-555-123-4567",
            "555-123-45678",
            "host 10.0.0.1",
            "the score was 3-2, then 6-4 6-3 7-5",
            "coordinates 40.7128 -74.0060",
            "serial 4111 1111 1111 1111",
            "+12 345",
            "SSN 123-45-6789",
        ],
    );
}

#[test]
fn payment_card() {
    assert_finds(
        Detector::PaymentCard,
        &[
            ("card 4111 1111 1111 1111 exp 12/27", "4111 1111 1111 1111"),
            ("4111-1111-1111-1111", "4111-1111-1111-1111"),
            ("pay with 4111111111111111.", "4111111111111111"),
            ("MC 5500 0000 0000 0004", "5500 0000 0000 0004"),
            ("amex 3782 822463 10005", "3782 822463 10005"),
            ("amex 378282246310005", "378282246310005"),
            ("discover 6011111111111117", "6011111111111117"),
            ("2-series 2223 0031 2200 3222", "2223 0031 2200 3222"),
        ],
    );
    let two = "4111-1111-1111-1111 5500-0000-0000-0004";
    assert_eq!(
        found(two, Detector::PaymentCard),
        vec!["4111-1111-1111-1111", "5500-0000-0000-0004"]
    );
    assert_quiet(
        Detector::PaymentCard,
        &[
            "4111 1111 1111 1112",
            "order 1234567890123456",
            "epoch ms 1710513000123",
            "years 2019 2020 2021 2022",
            "4111 1111 1111",
            "USPS 9400 1000 0000 0000 0000 00",
            "id 41111111111111111111111",
            "v4111111111111111",
            "4111 1111-1111 1111",
            "$4111111111111111",
        ],
    );
}

#[test]
fn iban() {
    assert_finds(
        Detector::Iban,
        &[
            (
                "IBAN DE89 3704 0044 0532 0130 00, BIC COBADEFFXXX",
                "DE89 3704 0044 0532 0130 00",
            ),
            ("DE89370400440532013000", "DE89370400440532013000"),
            ("GB82 WEST 1234 5698 7654 32", "GB82 WEST 1234 5698 7654 32"),
            ("to GB82WEST12345698765432.", "GB82WEST12345698765432"),
            ("FR14 2004 1010 0505 0001 3M02 606", "FR14 2004 1010 0505 0001 3M02 606"),
            ("NL91ABNA0417164300", "NL91ABNA0417164300"),
            ("NO9386011117947", "NO9386011117947"),
            ("de89370400440532013000", "de89370400440532013000"),
        ],
    );
    assert_quiet(
        Detector::Iban,
        &[
            "DE89 3704 0044 0532 0130 01",
            "DE8937040044053201300",
            "XX89370400440532013000",
            "DE89370400440532013000123",
            "ADE89370400440532013000",
            "Model AB12 3456 7890",
            "DE89 3704  0044 0532 0130 00",
        ],
    );
}

#[test]
fn us_ssn() {
    assert_finds(
        Detector::UsSsn,
        &[
            ("SSN 123-45-6789.", "123-45-6789"),
            ("ssn: 078-05-1120", "078-05-1120"),
            ("123 45 6789", "123 45 6789"),
        ],
    );
    assert_quiet(
        Detector::UsSsn,
        &[
            "000-12-3456",
            "666-12-3456",
            "900-12-3456",
            "123-00-4567",
            "123-45-0000",
            "123-456-789",
            "2024-01-15",
            "123-45-67890",
            "1123-45-6789",
            "123456789",
            "x123-45-6789",
        ],
    );
}

#[test]
fn ipv4() {
    assert_finds(
        Detector::Ipv4,
        &[
            ("ping 10.0.0.1", "10.0.0.1"),
            ("server at 192.168.1.254:8080", "192.168.1.254"),
            ("http://172.16.0.3/admin", "172.16.0.3"),
            ("255.255.255.255", "255.255.255.255"),
            ("net 10.1.0.0/16.", "10.1.0.0"),
        ],
    );
    assert_quiet(
        Detector::Ipv4,
        &[
            "version 1.2.3",
            "1.2.3.4.5",
            "v1.2.3.4",
            "256.1.1.1",
            "192.168.001.1",
            "pi is 3.14159",
            "10.0.0.1a",
            "Chrome 124.0.6367.91",
        ],
    );
}

#[test]
fn ipv6() {
    assert_finds(
        Detector::Ipv6,
        &[
            ("addr 2001:db8::1 ok", "2001:db8::1"),
            ("fe80::1ff:fe23:4567:890a", "fe80::1ff:fe23:4567:890a"),
            (
                "2001:0db8:85a3:0000:0000:8a2e:0370:7334",
                "2001:0db8:85a3:0000:0000:8a2e:0370:7334",
            ),
            ("[2001:db8::8a2e:370:7334]:443", "2001:db8::8a2e:370:7334"),
            ("mapped ::ffff:192.0.2.128.", "::ffff:192.0.2.128"),
        ],
    );
    assert_quiet(
        Detector::Ipv6,
        &[
            "std::vector<int> v;",
            "a::b",
            "at 12:30:45",
            "mac 00:1A:2B:3C:4D:5E",
            "localhost ::1",
            "Note: see below",
            "dead:beef",
            "Foo::Bar::baz()",
        ],
    );
}

fn openai_legacy() -> String {
    format!("sk-{}", "a1B2c3D4".repeat(6))
}

fn openai_project() -> String {
    format!("sk-proj-{}", "Ab3_xY9-Qr7Z".repeat(13))
}

fn anthropic() -> String {
    format!("sk-ant-api03-{}AA", "Zx8-Kp2_Lm4Q".repeat(8))
}

pub(crate) const JWT: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c";

#[test]
fn secrets_regex_compiles() {
    assert!(secrets::compiled());
}

#[test]
fn secrets() {
    let legacy = openai_legacy();
    let proj = openai_project();
    let ant = anthropic();
    let ghp = format!("ghp_{}", "R2d2C3po".repeat(4) + "Bb8x");
    let pat = format!("github_pat_11ABCDEFG0{}_{}", "a1b2c3d4e5f6", "Q".repeat(59));
    let google = format!("AIza{}", "SyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY".get(..35).unwrap());
    let slack = "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx";
    let pem = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA7v\nQk9a+b/c\n-----END RSA PRIVATE KEY-----";
    let cases: Vec<(Detector, String, String)> = vec![
        (
            Detector::OpenAiKey,
            format!("OPENAI_API_KEY={legacy}\n"),
            legacy.clone(),
        ),
        (Detector::OpenAiKey, format!("key \"{proj}\""), proj.clone()),
        (Detector::AnthropicKey, format!("x-api-key: {ant}"), ant.clone()),
        (
            Detector::AwsAccessKeyId,
            "aws_access_key_id = AKIAIOSFODNN7EXAMPLE".into(),
            "AKIAIOSFODNN7EXAMPLE".into(),
        ),
        (
            Detector::AwsAccessKeyId,
            "ASIAY34FZKBOKMUTVV7A,".into(),
            "ASIAY34FZKBOKMUTVV7A".into(),
        ),
        (Detector::GithubToken, format!("token {ghp}"), ghp.clone()),
        (Detector::GithubToken, format!("{pat}."), pat.clone()),
        (Detector::SlackToken, format!("SLACK={slack}"), slack.into()),
        (Detector::GoogleApiKey, format!("?key={google}&q=1"), google.clone()),
        (Detector::Jwt, format!("Authorization: Bearer {JWT}"), JWT.into()),
        (Detector::PrivateKey, format!("key:\n{pem}\nthanks"), pem.into()),
        (
            Detector::PrivateKey,
            "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA".into(),
            "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA".into(),
        ),
    ];
    for (d, text, want) in &cases {
        assert_eq!(found(text, *d), vec![want.as_str()], "{d} in {text:?}");
        let all = detect(text, &Detector::SECRETS);
        assert_eq!(all.len(), 1, "exactly one secret in {text:?}: {all:?}");
        assert_eq!(all[0].detector, *d, "{text:?} is a {d}");
        assert!(d.is_secret());
    }
    assert_quiet(
        Detector::OpenAiKey,
        &["sk-short", "task-abcdefghijklmnopqrstuvwxyz0123456789abcdef"],
    );
    assert_quiet(Detector::OpenAiKey, &[&format!("{legacy}{}", "x".repeat(200))]);
    assert_quiet(Detector::AnthropicKey, &["sk-ant-api03-short", "sk-ant-..."]);
    assert_quiet(
        Detector::AwsAccessKeyId,
        &["AKIA1234", "AKIAIOSFODNN7EXAMPLEX", "XAKIAIOSFODNN7EXAMPLE"],
    );
    assert_quiet(
        Detector::GithubToken,
        &["ghp_short", "the ghx_abcdefghijklmnopqrstuvwxyz0123456789 id"],
    );
    assert_quiet(Detector::SlackToken, &["xoxb-short", "xoxz-1234567890-abcdefghij"]);
    assert_quiet(Detector::GoogleApiKey, &["AIzaShort", &format!("{google}Z")]);
    assert_quiet(
        Detector::Jwt,
        &[
            "eyJhbGciOiJIUzI1NiJ9",
            "eyJhbGci.eyJ.sig",
            "keyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.abc",
        ],
    );
    assert_quiet(
        Detector::PrivateKey,
        &[
            "-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----",
            "-----BEGIN CERTIFICATE-----",
        ],
    );
}

#[test]
fn names_round_trip_and_group() {
    for d in Detector::ALL {
        assert_eq!(Detector::from_name(d.name()), Some(d));
        assert!(d.default_replacement().starts_with('['));
    }
    let secrets = DetectorSet::from_name("secrets").unwrap();
    assert_eq!(secrets.iter().count(), 8);
    assert!(!secrets.contains(Detector::Email));
    assert_eq!(DetectorSet::from_name("ssn"), None);
}

#[test]
fn shapes_parse_and_cover_their_matches() {
    let samples = [
        (Detector::Email, "john.doe@example.com"),
        (Detector::Phone, "+1 (415) 555-2671"),
        (Detector::PaymentCard, "4111 1111 1111 1111"),
        (Detector::Iban, "GB82 WEST 1234 5698 7654 32"),
        (Detector::UsSsn, "123-45-6789"),
        (Detector::Ipv4, "10.0.0.1"),
        (Detector::Ipv6, "2001:db8::1"),
        (Detector::Jwt, JWT),
    ];
    for (d, s) in samples {
        let re = regex::Regex::new(&format!("^(?:{})$", d.shape())).unwrap();
        assert!(re.is_match(s), "{d} shape covers {s}");
        assert!(d.max_len().is_none_or(|m| s.len() <= m));
    }
}

#[test]
fn digit_search_finds_every_digit_position() {
    let text: Vec<u8> = (0..=255u8).chain(b"abc9defghijklmnop0".iter().copied()).collect();
    for start in 0..text.len() {
        let want = (start..text.len())
            .find(|&i| text[i].is_ascii_digit())
            .unwrap_or(text.len());
        assert_eq!(digits::next_digit(&text, start), want, "from {start}");
    }
}
