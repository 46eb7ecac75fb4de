//! Unicode scripts and language-specific letters, for language identification and for deciding
//! which scripts are tokenised per character.

/// Script classes that matter for language identification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Script {
    Latin,
    Cyrillic,
    Greek,
    Arabic,
    Hebrew,
    Devanagari,
    Bengali,
    Thai,
    Hangul,
    Kana,
    Han,
    Georgian,
    Armenian,
    Tamil,
    Telugu,
    Gujarati,
    Kannada,
    Malayalam,
    Gurmukhi,
    Ethiopic,
    Other,
}

pub const N_SCRIPTS: usize = 21;

pub fn script_of(c: char) -> Option<Script> {
    let u = c as u32;
    // The main CJK block first: a Chinese or Japanese text is mostly these, and the match below
    // tests its ranges one after another.
    if (0x4e00..=0x9fff).contains(&u) {
        return Some(Script::Han);
    }
    Some(match u {
        // × and ÷ sit inside Latin-1 but are operators.
        0x41..=0x5a | 0x61..=0x7a | 0xc0..=0xd6 | 0xd8..=0xf6 | 0xf8..=0x24f | 0x1e00..=0x1eff => Script::Latin,
        0x370..=0x3ff | 0x1f00..=0x1fff => Script::Greek,
        0x400..=0x52f => Script::Cyrillic,
        0x530..=0x58f => Script::Armenian,
        0x590..=0x5ff => Script::Hebrew,
        0x600..=0x6ff | 0x750..=0x77f | 0xfb50..=0xfdff | 0xfe70..=0xfeff => Script::Arabic,
        0x900..=0x97f => Script::Devanagari,
        0x980..=0x9ff => Script::Bengali,
        0xa00..=0xa7f => Script::Gurmukhi,
        0xa80..=0xaff => Script::Gujarati,
        0xb80..=0xbff => Script::Tamil,
        0xc00..=0xc7f => Script::Telugu,
        0xc80..=0xcff => Script::Kannada,
        0xd00..=0xd7f => Script::Malayalam,
        0xe00..=0xe7f => Script::Thai,
        0x10a0..=0x10ff => Script::Georgian,
        0x1200..=0x137f => Script::Ethiopic,
        0x1100..=0x11ff | 0x3130..=0x318f | 0xac00..=0xd7af => Script::Hangul,
        0x3040..=0x30ff | 0x31f0..=0x31ff | 0xff66..=0xff9f => Script::Kana,
        0x3400..=0x4dbf | 0x4e00..=0x9fff | 0xf900..=0xfaff => Script::Han,
        _ if is_plain_punct(c) => return None,
        _ if c.is_alphabetic() => Script::Other,
        _ => return None,
    })
}

/// The punctuation blocks prose uses most outside ASCII (general punctuation, CJK and full-width
/// marks): no letter, digit or space among them, so the costly Unicode property lookups
/// (`is_alphabetic`, `is_numeric`) can be skipped for them.
pub fn is_plain_punct(c: char) -> bool {
    matches!(c as u32, 0x2010..=0x2027 | 0x2030..=0x205e | 0x3001..=0x3004 | 0x3008..=0x3020 | 0xff01..=0xff0f | 0xff1a..=0xff20)
}

/// Letters without case (Thai, kana, CJK ideographs, Hangul syllables): lower-casing is the
/// identity for them, so the case-mapping table need not be searched.
pub fn uncased(c: char) -> bool {
    matches!(c as u32, 0xe00..=0xe7f | 0x3040..=0x9fff | 0xac00..=0xd7af)
}

pub const MARK_DE: u32 = 1;
pub const MARK_ES: u32 = 2;
pub const MARK_PT: u32 = 4;
pub const MARK_VI: u32 = 8;
pub const MARK_PL: u32 = 16;
pub const MARK_TR: u32 = 32;
pub const MARK_CS: u32 = 64;
pub const MARK_RO: u32 = 128;
pub const MARK_UK: u32 = 256;
pub const MARK_FA: u32 = 512;
pub const MARK_UR: u32 = 1024;

pub fn mark_of(c: char) -> u32 {
    // Every marked letter is below U+1F00 (the last are Vietnamese, U+1Exx).
    if c as u32 >= 0x1f00 {
        return 0;
    }
    match c {
        'ß' | 'ä' | 'ö' | 'ü' => MARK_DE,
        'ñ' | '¿' | '¡' => MARK_ES,
        'ã' | 'õ' => MARK_PT,
        'ư' | 'ơ' | 'đ' | 'ạ' | 'ả' | 'ế' | 'ộ' => MARK_VI,
        'ą' | 'ę' | 'ł' | 'ś' | 'ź' | 'ż' | 'ń' => MARK_PL,
        'ğ' | 'ş' | 'ı' => MARK_TR,
        'ř' | 'ě' | 'ů' => MARK_CS,
        'ș' | 'ț' | 'ă' => MARK_RO,
        'і' | 'ї' | 'є' | 'ґ' => MARK_UK,
        'پ' | 'چ' | 'ژ' | 'گ' => MARK_FA,
        'ٹ' | 'ڈ' | 'ڑ' | 'ے' | 'ں' => MARK_UR,
        _ => 0,
    }
}

#[cfg(test)]
mod tests;
