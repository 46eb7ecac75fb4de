//! Prompt language: the dominant script decides, and within a script a handful of very frequent
//! function words (or letters unique to one language) pick the ISO 639-1 code. Falls back to the
//! script name ("latin", "cyrillic", "arabic"…) when the evidence is too thin.

use std::sync::OnceLock;

use super::lexicon::Lexicon;
use super::script::*;
use super::text::Scan;

/// Latin- and Cyrillic-script languages told apart by function words.
const LANGS: [&str; 16] = [
    "en", "fr", "es", "de", "it", "pt", "nl", "sv", "pl", "tr", "id", "vi", "ru", "uk", "cs", "ro",
];

/// Function words per language: frequent, short, and rare in the others (shared words such as
/// "la", "de", "a" are left out on purpose).
const WORDS: [&str; 16] = [
    "the and of to is are was were this that with for you what how which have from not be it on can i my do your me so about please should would will",
    "le les des est une du et dans pour que qui pas sur avec ce cette je vous nous sont au aux",
    "el los las es una y en del por para que con se como pero más está muy lo al",
    "der die das und ist nicht ein eine ich sie mit zu auf den dem für von sich auch wie was",
    "il di che è non per una sono della gli con anche del nel ma più questo si",
    "o os é não uma para com que da em por mais mas como está você isso",
    "het een en van de niet dat zijn te voor met ik wat hoe",
    "och att det är en som för på med jag inte av till har hur vad",
    "w nie się na jest że z jak co czy jestem dla",
    "ve bir bu da de için ile ne mi değil çok gibi nasıl",
    "dan yang di ini itu dengan untuk tidak ada saya apa bagaimana",
    "và của là có không một những được cho người này với các",
    "и в не на что это как я с по для ты мне есть",
    "і в не на що це як я з та для ти є також",
    "je se na že v jak co není jsem",
    "și în este nu cu pe că care sunt pentru din mai",
];

fn table() -> &'static Lexicon {
    static T: OnceLock<Lexicon> = OnceLock::new();
    T.get_or_init(|| {
        let entries: Vec<(u64, &str)> = WORDS.iter().enumerate().map(|(i, w)| (1u64 << i, *w)).collect();
        Lexicon::from_entries(&entries)
    })
}

fn script_name(s: Script) -> &'static str {
    match s {
        Script::Latin => "latin",
        Script::Cyrillic => "cyrillic",
        Script::Greek => "el",
        Script::Arabic => "arabic",
        Script::Hebrew => "he",
        Script::Devanagari => "hi",
        Script::Bengali => "bn",
        Script::Thai => "th",
        Script::Hangul => "ko",
        Script::Kana => "ja",
        Script::Han => "zh",
        Script::Georgian => "ka",
        Script::Armenian => "hy",
        Script::Tamil => "ta",
        Script::Telugu => "te",
        Script::Gujarati => "gu",
        Script::Kannada => "kn",
        Script::Malayalam => "ml",
        Script::Gurmukhi => "pa",
        Script::Ethiopic => "am",
        Script::Other => "other",
    }
}

const ALL_SCRIPTS: [Script; N_SCRIPTS] = [
    Script::Latin,
    Script::Cyrillic,
    Script::Greek,
    Script::Arabic,
    Script::Hebrew,
    Script::Devanagari,
    Script::Bengali,
    Script::Thai,
    Script::Hangul,
    Script::Kana,
    Script::Han,
    Script::Georgian,
    Script::Armenian,
    Script::Tamil,
    Script::Telugu,
    Script::Gujarati,
    Script::Kannada,
    Script::Malayalam,
    Script::Gurmukhi,
    Script::Ethiopic,
    Script::Other,
];

/// The language code (or script name) of `text`, scanned as `scan`.
pub fn detect(scan: &Scan) -> &'static str {
    let counts = &scan.stats.script_chars;
    let mut best = (Script::Other, 0u32);
    for s in ALL_SCRIPTS {
        let c = counts[s as usize];
        if c > best.1 {
            best = (s, c);
        }
    }
    if best.1 == 0 {
        return "und";
    }
    let kana = counts[Script::Kana as usize];
    let han = counts[Script::Han as usize];
    let hangul = counts[Script::Hangul as usize];
    // Japanese mixes kanji with kana; any real share of kana means Japanese. CJK characters carry
    // about as much as a Latin word each, so they are weighed ×4 against Latin letters (code and
    // English terms inside a Chinese prompt should not make it "en").
    let cjk = (kana + han + hangul) * 4;
    if cjk > counts[Script::Latin as usize] || (cjk > 0 && best.0 != Script::Latin && best.0 != Script::Cyrillic) {
        if hangul * 4 >= han + kana && hangul > 0 {
            return "ko";
        }
        if kana * 10 >= han && kana > 0 {
            return "ja";
        }
        return "zh";
    }
    match best.0 {
        Script::Latin | Script::Cyrillic => by_words(scan, best.0),
        Script::Arabic => arabic_variant(scan.stats.marks),
        s => script_name(s),
    }
}

fn arabic_variant(marks: u32) -> &'static str {
    if marks & MARK_UR != 0 {
        "ur"
    } else if marks & MARK_FA != 0 {
        "fa"
    } else {
        "ar"
    }
}

fn by_words(scan: &Scan, script: Script) -> &'static str {
    let t = table();
    let mut votes = [0u32; 16];
    // Function words are everywhere, so the first few hundred tokens are plenty.
    for tok in scan.toks.iter().take(400) {
        let cats = t.lookup(tok.hash);
        let mut c = cats;
        while c != 0 {
            let b = c.trailing_zeros() as usize;
            votes[b] += 1;
            c &= c - 1;
        }
    }
    let cyr = script == Script::Cyrillic;
    // Letters unique to one language settle close calls.
    let m = scan.stats.marks;
    let bonus = [
        (MARK_UK, 13, 3),
        (MARK_DE, 3, 1),
        (MARK_ES, 2, 2),
        (MARK_PT, 5, 2),
        (MARK_VI, 11, 3),
        (MARK_PL, 8, 2),
        (MARK_TR, 9, 2),
        (MARK_CS, 14, 2),
        (MARK_RO, 15, 2),
    ];
    for (bit, lang, v) in bonus {
        if m & bit != 0 {
            votes[lang] += v;
        }
    }
    let range = if cyr { 12..14 } else { 0..12 };
    let range_extra: &[usize] = if cyr { &[] } else { &[14, 15] };
    let mut best = (usize::MAX, 0u32);
    for i in range.chain(range_extra.iter().copied()) {
        if votes[i] > best.1 {
            best = (i, votes[i]);
        }
    }
    if best.0 == usize::MAX || best.1 == 0 {
        return if cyr {
            "cyrillic"
        } else if scan.stats.words <= 3 {
            "latin"
        } else {
            "en"
        };
    }
    LANGS[best.0]
}
