//! Unit tests: representative prompts for every task, in several languages, plus the API around
//! them (weights files, requests, context, bounds).

use super::*;
use switchyard_sdk::ir::{ImageSource, Message};

/// A small deterministic generator for the randomized tests of the scan's pieces.
pub(super) fn xorshift(mut seed: u64) -> impl FnMut() -> u64 {
    move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    }
}

fn c(p: &str) -> Classification {
    Classifier::builtin().classify(p, &Context::default())
}

fn check(task: &str, prompts: &[&str]) {
    for p in prompts {
        let r = c(p);
        assert_eq!(r.task.as_str(), task, "{p:?} -> {r:?}");
        assert!(!r.reasons.is_empty(), "{p:?}: no reasons");
    }
}

#[test]
fn chat() {
    check(
        "chat",
        &[
            "Hi there!",
            "hello, how are you today?",
            "thanks, that was helpful :)",
            "ok cool",
            "Bonjour ! Comment ça va ?",
            "Привет! Как дела?",
        ],
    );
}

#[test]
fn code() {
    check(
        "code",
        &[
            "Write a Python function that reverses a linked list.",
            "Write a Rust function that parses RFC 3339 timestamps and handles leap seconds",
            "Write a Go program that tails a log file and counts 5xx responses per minute.",
            "Fix this error: TypeError: 'NoneType' object is not subscriptable",
            "```js\nconst x = arr.map(a => a * 2)\nconsole.log(x)\n```\nWhy does this print undefined?",
            "Write a SQL query that returns the top 5 customers by revenue.",
            "Escribe una función en JavaScript que valide un correo electrónico.",
            "写一个Python函数，计算列表中所有偶数的和。",
            "Напиши функцию на Go, которая сортирует массив строк.",
            "Write a function to extract unique values from the given dictionary values.",
        ],
    );
}

#[test]
fn math() {
    check(
        "math",
        &[
            "What is 17 * 23?",
            "Solve for x: 2x + 5 = 17",
            "Find the derivative of f(x) = 3x^3 - 4x + 1.",
            "A train travels 120 km in 1.5 hours. What is its average speed?",
            "Jan has three times the number of pets as Marcia. Marcia has two more pets than Cindy. If Cindy has four pets, how many total pets do the three have?",
            "Résous l'équation 3x - 7 = 11.",
            "求解方程 x^2 - 5x + 6 = 0",
            "What is the least common multiple of 4 and 10?\nA. 14\nB. 20\nC. 40\nD. 60\nAnswer:",
        ],
    );
}

#[test]
fn reasoning() {
    check(
        "reasoning",
        &[
            "Identify the logical fallacy in: 'Everyone is buying this phone, so it must be the best.'",
            "Is the following argument valid? If it rains, the street is wet. The street is wet. Therefore it rained.",
            "How many lightning strikes occur on Earth each day? Try to explain your answer step-by-step.",
            "Why might someone prefer to shop at a small, locally-owned business instead of a chain store?",
            "Select the best translation into predicate logic: Some animals are neglected by cruel people.",
        ],
    );
}

#[test]
fn knowledge_qa() {
    check(
        "knowledge_qa",
        &[
            "What is the capital of Australia?",
            "Explain how photosynthesis works.",
            "Who wrote Pride and Prejudice?",
            "¿Quién pintó la Mona Lisa?",
            "Wie funktioniert ein Elektromotor?",
            "光合作用是如何进行的？",
        ],
    );
}

#[test]
fn creative_writing() {
    check(
        "creative_writing",
        &[
            "Write a poem about the ocean at night.",
            "Compose a haiku about autumn leaves.",
            "Draft an apology email to a customer whose order was delayed.",
            "What if the Internet had been invented during the Renaissance?",
            "Écris un poème sur la pluie.",
            "写一首关于月亮的诗",
            "Write a script for a YouTube video about the history of jazz.",
        ],
    );
}

#[test]
fn roleplay() {
    check(
        "roleplay",
        &[
            "You are a grumpy pirate captain. Stay in character and greet your new crew.",
            "Act as a Linux terminal. I will type commands and you reply with the output.",
            "Pretend you are Sherlock Holmes and deduce where I've been today.",
            "As a sports commentator, describe the winning play in the final seconds of the game.",
            "Actúa como un entrevistador de trabajo y hazme preguntas.",
        ],
    );
}

#[test]
fn extraction() {
    check(
        "extraction",
        &[
            "Extract all email addresses from the following text: contact john@example.com or sales@acme.io.",
            "Identify the named entities (person, location, organization) in this sentence: Angela Merkel visited Microsoft in Seattle.",
            "Pull out the dates and amounts from this invoice: issued 2024-03-01, total $1,250.00, due 2024-03-31.",
            "Extrae los nombres de las ciudades mencionadas en este texto: Viajé de Madrid a Sevilla.",
        ],
    );
}

#[test]
fn summarization() {
    check(
        "summarization",
        &[
            "Summarize the following article in three sentences:\n\nThe city council voted on Tuesday to expand the bike lanes.",
            "TL;DR: The meeting covered the Q3 roadmap, the hiring freeze, and the new expense policy.",
            "Résume ce texte en une phrase : Le gouvernement a annoncé de nouvelles mesures.",
            "Fasse den folgenden Text zusammen: Die Stadt plant ein neues Schwimmbad.",
            "请总结以下内容：今天公司开会讨论了新产品的发布计划。",
        ],
    );
}

#[test]
fn translation() {
    check(
        "translation",
        &[
            "Translate 'Where is the train station?' into German.",
            "How do you say 'thank you very much' in Japanese?",
            "Traduce al inglés: Me gustaría reservar una mesa para dos personas.",
            "把这句话翻译成英文：我明天要去上海出差。",
            "Переведи на английский: Я люблю читать книги.",
        ],
    );
}

#[test]
fn classification() {
    check(
        "classification",
        &[
            "Classify the sentiment of this review as positive, negative or neutral: 'The food was cold.'",
            "Categorize these items into fruits and vegetables: apple, carrot, banana, broccoli.",
            "Clasifica el siguiente comentario como positivo o negativo: El producto llegó roto.",
            "判断这条评论的情感是正面还是负面：这家餐厅太好吃了！",
        ],
    );
}

#[test]
fn image_generation() {
    check(
        "image_generation",
        &[
            "Draw a cat wearing a space suit on the moon.",
            "Generate an image of a futuristic city at sunset, cyberpunk style.",
            "a photorealistic portrait of an old fisherman, dramatic lighting, 8k",
            "a blue wooden pyramid on top of a red plastic box",
            "Dessine un chat qui joue du piano.",
            "画一只在草地上奔跑的小狗",
        ],
    );
}

#[test]
fn other_modalities() {
    check(
        "speech",
        &[
            "Convert this text to speech: Your appointment is confirmed.",
            "Read this paragraph aloud in a calm voice.",
        ],
    );
    check(
        "video",
        &[
            "Generate a video of a dog surfing a wave at sunset.",
            "Create a 10-second animation of a bouncing ball.",
        ],
    );
    check(
        "music",
        &[
            "Compose a lo-fi hip hop beat at 85 bpm.",
            "Generate a calm piano melody for meditation.",
        ],
    );
    assert_eq!(Task::Video.modality(), "video");
    assert_eq!(Task::ImageGeneration.modality(), "image");
}

#[test]
fn task_names_round_trip() {
    for t in Task::ALL {
        assert_eq!(Task::parse(t.as_str()), Some(t));
    }
    assert_eq!(Task::parse("nope"), None);
}

#[test]
fn languages() {
    let cases = [
        ("What is the capital of France and why?", "en"),
        ("Quelle est la capitale de la France et pourquoi ?", "fr"),
        ("Écris un poème sur la mer.", "fr"),
        ("¿Cuál es la capital de Francia y por qué?", "es"),
        ("Was ist die Hauptstadt von Frankreich und warum ist das so?", "de"),
        ("Qual è la capitale della Francia e perché?", "it"),
        ("Qual é a capital da França e por que não Lyon?", "pt"),
        ("Какая столица у Франции и почему?", "ru"),
        ("法国的首都是哪里？", "zh"),
        ("フランスの首都はどこですか？", "ja"),
        ("프랑스의 수도는 어디입니까?", "ko"),
        ("ما هي عاصمة فرنسا؟", "ar"),
        ("फ्रांस की राजधानी क्या है?", "hi"),
        ("Ποια είναι η πρωτεύουσα της Γαλλίας;", "el"),
        ("מהי בירת צרפת?", "he"),
        ("", "und"),
    ];
    for (p, lang) in cases {
        assert_eq!(c(p).language, lang, "{p:?}");
    }
}

#[test]
fn confidence_and_scores_in_range() {
    for p in ["", " ", "?", "a", "Hi", "Write a poem", "🙂🙂🙂", "\u{0}\u{1}", "x = 1"] {
        let r = c(p);
        assert!((0.0..=1.0).contains(&r.confidence), "{p:?}");
        assert!((0.0..=1.0).contains(&r.complexity_score), "{p:?}");
        assert!((0.0..=1.0).contains(&r.strong), "{p:?}");
    }
    assert_eq!(c("").tokens, 0);
    assert!(c("Hello world, this is a test.").tokens >= 5);
}

#[test]
fn deterministic() {
    let p = "Explain the difference between TCP and UDP, with examples in Python.";
    assert_eq!(c(p), c(p));
}

#[test]
fn complexity_grows_with_demands() {
    let simple = c("What is the capital of France?");
    let hard = c("Design a distributed, fault-tolerant rate limiter in Rust. First, compare token bucket and sliding \
        window approaches and justify the trade-offs. Then implement it with async Tokio, ensure it is thread-safe, \
        include unit tests for edge cases, and analyze the time complexity. Finally, describe how you would deploy it \
        on Kubernetes across three regions and prove that the limits hold under clock skew.\n\n```rust\nstruct Limiter;\n```");
    assert_eq!(simple.complexity_tier, Tier::Simple);
    assert_eq!(hard.complexity_tier, Tier::Complex);
    assert!(hard.strong > simple.strong);
    assert!(hard.complexity_score > simple.complexity_score);
}

#[test]
fn very_long_prompt_is_bounded_and_keeps_the_instruction() {
    let body = "The quarterly report shows steady growth in all regions. ".repeat(5000);
    let p = format!("Summarize the following report:\n\n{body}");
    let r = c(&p);
    assert_eq!(r.task, Task::Summarization);
    assert!(r.tokens > 50_000, "{}", r.tokens);
    let tail = format!("{body}\n\nTL;DR");
    assert_eq!(c(&tail).task, Task::Summarization);
}

/// About 12 KB of a licence-like document: numbered, indented, full of "program" and "source
/// code" and parentheses, so that on its own it reads as code.
fn licence() -> String {
    let mut d = String::new();
    for i in 0..60 {
        d.push_str(&format!(
            "  {i}. You may copy and distribute verbatim copies of the Program's source code (as \
             received), in any medium, provided that you publish_notice() on each copy.\n"
        ));
        d.push_str("     The compiled executable = the object code; see Section 3(b).\n");
    }
    d
}

#[test]
fn a_request_around_a_long_document_decides_the_task() {
    let d = licence();
    assert_eq!(c(&d).task, Task::Code, "the document alone reads as code");
    check(
        "summarization",
        &[
            &format!("Summarize the following document in five bullet points:\n\n{d}"),
            &format!("{d}\n\nSummarize the text above in one paragraph."),
        ],
    );
    check(
        "translation",
        &[
            &format!("Translate the following text into German:\n\n{d}"),
            &format!("{d}\n\nTranslate all of the above into Spanish."),
        ],
    );
    check(
        "extraction",
        &[
            &format!("Extract every section number and date from the following text as JSON:\n\n{d}"),
            &format!("{d}\n\nFrom the text above, list every function it names."),
        ],
    );
    // The same place asking for programming leaves it to the scores.
    check(
        "code",
        &[&format!(
            "Fix the bug in this code and extract it into a function:\n\n{d}"
        )],
    );
    // A short prompt is not material: its code is what the request is about.
    check("code", &["Extract the loop into its own function:\n```python\nfor i in range(10):\n    total += price[i] * qty[i]\n```"]);
}

#[test]
fn reads_a_bounded_window_of_long_prompts() {
    let head = "Summarize the following meeting notes for the team:\n\n";
    let tail = "\n\nKeep it under 100 words.";
    let filler = |unit: &str, n: usize| unit.repeat(n / unit.len() + 1)[..n].to_string();
    let prose = filler("The team discussed the roadmap and the budget for next year. ", 4_000);
    let maths = filler("Let x^2 + 3y = 17 and solve for y where f(x) = 2x - 1. ", 4_000);
    let p1 = format!("{head}{prose}{prose}{prose}{tail}");
    let p2 = format!("{head}{prose}{maths}{prose}{tail}");
    let (r1, r2) = (c(&p1), c(&p2));
    // The middle is not read: the same head and tail give the same classification.
    assert_eq!(
        (r1.task, r1.complexity_tier, r1.strong),
        (r2.task, r2.complexity_tier, r2.strong)
    );
    assert_eq!(r1.task, Task::Summarization);
    // The token estimate still covers the whole text (about four bytes a token).
    let want = p1.len() as f64 / 4.0;
    assert!(
        (f64::from(r1.tokens) - want).abs() < want * 0.05,
        "{} vs {want}",
        r1.tokens
    );
    // Cuts fall on whitespace or char boundaries, whatever the script.
    for p in [
        "汉".repeat(5000),
        format!("{}{}", "é".repeat(3000), "字".repeat(3000)),
        "x".repeat(20_000),
    ] {
        let r = c(&p);
        assert!(r.tokens > 0);
    }
    assert_eq!(head_cut("ab cd", 4), 2);
    assert_eq!(tail_cut("ab cd", 1), 3);
}

#[test]
fn weights_file_parsing() {
    let w = Classifier::from_json(r#"{"strong": {"bias": 1.5, "weights": {"len": 2}}, "task_bias": {"chat": 0.5}}"#)
        .unwrap();
    assert_ne!(w, Classifier::rules_only());
    assert!(Classifier::from_json(r#"{"strong": {"weights": {"bogus": 1}}}"#).is_err());
    assert!(Classifier::from_json(r#"{"task_bias": {"nope": 1}}"#).is_err());
    assert!(Classifier::from_json("not json").is_err());
    assert!(Classifier::load(std::path::Path::new("/nonexistent/classifier.json")).is_err());
    // The shipped file parses (builtin() would silently fall back otherwise).
    assert!(Classifier::from_json(BUILTIN_WEIGHTS).is_ok());
}

fn req(messages: Vec<Message>) -> ChatRequest {
    ChatRequest {
        model: "auto".into(),
        messages,
        ..ChatRequest::default()
    }
}

#[test]
fn request_context() {
    let cl = Classifier::builtin();
    // A persona in the system prompt makes a plain question roleplay.
    let r = req(vec![
        Message::text(
            Role::System,
            "You are Captain Blackbeard, a pirate. Stay in character at all times.",
        ),
        Message::text(Role::User, "What did you have for breakfast?"),
    ]);
    assert_eq!(cl.classify_request(&r).task, Task::Roleplay);
    // A follow-up inherits the task of the earlier turn.
    let r = req(vec![
        Message::text(Role::User, "Write a Python function that parses ISO dates."),
        Message::text(Role::Assistant, "def parse(s): ..."),
        Message::text(Role::User, "Now make it handle time zones too."),
    ]);
    let out = cl.classify_request(&r);
    assert_eq!(out.task, Task::Code);
    // An attached image is looked at, not drawn.
    let mut m = Message::text(Role::User, "a red car parked next to a tree");
    m.content.push(Part::Image {
        source: ImageSource::Url("https://example.com/x.png".into()),
        detail: None,
    });
    assert_ne!(cl.classify_request(&req(vec![m])).task, Task::ImageGeneration);
    // No user turn at all.
    let empty = cl.classify_request(&req(vec![]));
    assert_eq!(empty.tokens, 0);
}

#[test]
fn request_lines() {
    let r = request_from_line(r#"{"prompt": "hello"}"#).unwrap();
    assert_eq!(RequestTexts::new(&r).last, "hello");
    let r = request_from_line(
        r#"{"messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": [{"type": "text", "text": "hi"}]}]}"#,
    )
    .unwrap();
    let t = RequestTexts::new(&r);
    assert_eq!((t.last.as_str(), t.system.as_str(), t.turns), ("hi", "be brief", 1));
    for bad in ["", "[]", "{}", r#"{"prompt": 3}"#, r#"{"messages": "x"}"#, "{not json"] {
        assert!(request_from_line(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn to_json_has_the_fields() {
    let v = c("Translate 'good morning' into Italian.").to_json();
    for k in [
        "task",
        "confidence",
        "runner_up",
        "complexity_tier",
        "complexity_score",
        "language",
        "tokens",
        "strong",
        "reasons",
    ] {
        assert!(v.get(k).is_some(), "{k}");
    }
    assert_eq!(v["task"], "translation");
    assert_eq!(v.as_object().unwrap().len(), 9, "{v}");
    // Scores are shown to three decimals.
    let conf = v["confidence"].as_f64().unwrap();
    assert_eq!((conf * 1000.0).round() / 1000.0, conf);
    // The route's classification serializes the same as the classifier's own JSON.
    let routed = crate::router::RouteClass::Classified(c("Translate 'good morning' into Italian."));
    assert_eq!(serde_json::to_value(&routed).unwrap(), v);
    assert_eq!(routed.task(), Some("translation"));
}
