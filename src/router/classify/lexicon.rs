//! Keyword lexicon: words and phrases (`act as`) mapped to cue categories,
//! in English and the most common other languages. Written from what each task means, not mined
//! from the benchmark rows, so it carries over to prompts from other sources.
//!
//! Keys are hashed with the scanner's own tokenisation (see `text::key_hash`) into a small
//! open-addressing table: one probe per token on average, no allocation at lookup time.

use std::sync::OnceLock;

use super::text::key_hash;

macro_rules! cats {
    ($($name:ident = $bit:expr;)*) => { $(pub const $name: u64 = 1u64 << $bit;)* };
}

cats! {
    CODE_LANG = 0; CODE_NOUN = 1; CODE_VERB = 2; CODE_STRONG = 3; CODE_LINE = 4;
    MATH_NOUN = 5; MATH_VERB = 6; MATH_Q = 7; UNIT = 8;
    REASON = 9; REASON_STRONG = 10; JUDGE = 11; WH = 12; EXPLAIN = 13;
    WRITE = 14; CREATIVE_FORM = 15; COUNTERFACTUAL = 16;
    ROLE = 17; YOU_ARE = 18; AS_A = 19;
    EXTRACT = 20; EXTRACT_OBJ = 21; FORMAT = 22; CONTEXT_REF = 23;
    SUMMARY = 24; TRANSLATE = 25; LANG_NAME = 26; CLASSIFY = 27; LABELS = 28;
    IMAGE_VERB = 29; IMAGE_NOUN = 30; IMAGE_STYLE = 31; VISUAL = 32; DETERMINER = 33;
    GREETING = 34; SMALLTALK = 35; PRON1 = 36; PRON2 = 37;
    SPEECH = 38; VIDEO = 39; MUSIC = 40; MUSIC_CUE = 41; GEN = 42;
    STEP = 43; HARD = 44; EASY = 45; LENGTH = 46; MCQ = 47; LOGIC = 48; FALLACY = 49;
    DOMAIN = 50; DISCUSS = 51; TEXT_OBJ = 52; ROLE_NOUN = 53; GENERIC_ROLE = 54; LYRICS = 55;
    NOT_MEDIA = 56; WHAT_IS = 57; NUMWORD = 58; ACK = 59; EMOTION = 60;
}

/// (categories, keys). A key with spaces is a phrase.
const ENTRIES: &[(u64, &str)] = &[
    (CODE_LANG, "python javascript typescript java c++ c# golang kotlin swift scala haskell perl php ruby \
      sql mysql postgresql postgres sqlite html css scss bash powershell zsh matlab julia lua dart elixir \
      erlang clojure ocaml fortran cobol verilog vhdl solidity react reactjs vue angular svelte django flask \
      fastapi node.js nodejs npm numpy pandas pytorch tensorflow sklearn scikit-learn jquery dotnet linux \
      docker kubernetes k8s terraform ansible git github regex regexp graphql webpack laravel jvm wasm \
      webassembly cuda opengl arduino objective-c tsx jsx pyspark hadoop kafka redis mongodb nginx api apis \
      sdk cli yaml makefile cmake pip conda ruby_on_rails spring_boot shell_script assembly_language \
      visual_basic vba div flexbox dom css_grid tailwind pip_install git_commit in_c in_c++ using_c written_in_c in_go using_go in_r using_r excel_formula google_sheets_formula \
      in_rust using_rust written_in_rust rust_function rust_code rust_program rust_crate rust_struct \
      go_function go_program golang_function"),
    (CODE_NOUN, "function functions method methods variable variables array arrays integer integers \
      string strings loop loops recursion recursive algorithm algorithms compiler runtime syntax script \
      program programs code snippet library module framework database query queries endpoint server \
      backend frontend repository repo bug bugs exception exceptions boolean pointer pointers struct enum \
      lambda async thread threads mutex parser tuple tuples dictionary hashmap stack queue subarray \
      subsequence substring substrings palindrome anagram callback closure iterator decorator constructor \
      polymorphism oop implementation implementing unittest pytest dataframe http https json websocket socket tcp cache \
      memoization leetcode hackerrank codeforces compile compilation segfault stdin stdout argv kwargs \
      linked_list binary_tree hash_table hash_map data_structure data_structures time_complexity \
      space_complexity big_o unit_test unit_tests pull_request merge_conflict command_line source_code \
      test_case test_cases web_app web_page website rest_api sql_query bash_script input_list \
      given_list given_array given_string sorted_array \
      função código programa fonction fonctions programme funktion funktionen programm función funciones \
      funzione codice programma функция функцию функции код программу программа скрипт алгоритм \
      代码 函数 程序 算法 脚本 コード 関数 プログラム 코드 함수 프로그램"),
    (CODE_VERB, "implement debug debugging refactor refactoring compile \
      deploy instantiate serialize deserialize memoize vectorize containerize \
      write_a_function write_a_program write_a_script write_code write_a_class write_a_method \
      write_a_query write_a_python write_a_javascript write_a_java write_a_c fix_the_bug fix_this_bug \
      fix_this_code fix_my_code code_review \
      implementa implemente implémente implémenter implementiere programmiere escribe_una_función \
      écris_une_fonction schreibe_eine_funktion напиши_функцию напиши_код напиши_программу реализуй \
      写一个函数 编写 実装"),
    (CODE_STRONG, "traceback stack_trace stacktrace segmentation_fault nullpointerexception typeerror \
      valueerror keyerror indexerror attributeerror syntaxerror referenceerror importerror \
      modulenotfounderror runtimeerror panicked compile_error compiler_error build_error \
      undefined_reference console.log system.out.println printf cout println \
      npm_err cannot_find_module unexpected_token borrow_checker public_static_void int_main \
      most_recent_call_last"),
    (CODE_LINE, "def class import from return public private protected static const let var fn func \
      package using namespace select elif else try except catch while for if print println console echo \
      include struct impl pub async await yield raise throw"),
    (MATH_NOUN, "equation equations integral integrals derivative derivatives polynomial polynomials \
      probability probabilities matrix matrices determinant eigenvalue eigenvalues eigenvector theorem \
      lemma prime primes factorial fraction fractions decimal decimals ratio ratios percentage average \
      median variance sum quotient remainder divisible divisor multiples exponent exponents logarithm \
      sqrt square_root triangle triangles circle circles rectangle perimeter volume radius diameter \
      circumference angle angles hypotenuse parabola slope intercept vertex vertices inequality \
      inequalities arithmetic algebra geometry calculus trigonometry sine cosine tangent sin cos tan \
      convergence permutation permutations combinations binomial expected_value modulo gcd lcm digit \
      digits rational irrational real_numbers complex_numbers coefficient coefficients asymptote \
      congruent isosceles equilateral polygon hexagon pentagon subgroup homomorphism isomorphism abelian \
      cyclic_group field_extension finite_field standard_deviation arithmetic_sequence geometric_sequence \
      expression factorization rounded nearest estimate vector_space linear_transformation dimension \
      subspace topological compact continuous differentiable integrable abelian_group finite_group \
      positive_integers whole_numbers least_common_multiple greatest_common_factor common_factor \
      prime_factorization line_segment endpoints coordinates length_of value_of units_digit \
      équation ecuación gleichung equação equazione уравнение уравнения интеграл производная вероятность \
      方程 积分 导数 概率 微分 確率 방정식 확률 적분 미분"),
    (MATH_VERB, "solve calculate compute simplify factorize differentiate integrate \
      find_the_value find_the_sum find_the_product find_the_area find_the_number solve_for find_x \
      résous résoudre calcule calculer resuelve resolver calcula calcular löse berechne berechnen risolvi \
      calcola resolva calcule реши решите вычисли вычислите найдите 计算 解方程 求解 計算 계산"),
    (MATH_Q, "how_many how_much how_long how_far how_old how_fast what_is_the_total what_percent \
      what_percentage what_fraction what_is_the_probability what_is_the_value what_is_the_sum \
      how_many_more how_many_times combien cuántos cuántas cuánto wie_viele wie_viel quanti quante quantos \
      quantas сколько 多少 几个 何個 몇"),
    (NUMWORD, "one two three four five six seven eight nine ten eleven twelve fifteen twenty thirty forty \
      fifty hundred thousand twice half third quarter double triple dozen"),
    (UNIT, "dollars dollar cents euros pounds minutes minute hours hour seconds days weeks months years \
      km kilometers kilometres miles meters metres feet inches cm kg kilograms grams lbs liters litres \
      gallons mph per each every twice half dozen percent"),
    (REASON, "logic logical logically reasoning argument arguments premise premises conclusion \
      conclusions deduce deduction deductive inductive infer inference implies contradiction paradox \
      syllogism definitely therefore deduce assumption assumptions counterexample necessarily if_and_only_if \
      entails entailment proposition propositions true_or_false liar knights knaves plausible causation boolean_expression fixed_order starting_point valid invalid \
      formally analogy special_pleading"),
    (REASON_STRONG, "step_by_step think_carefully explain_your_reasoning your_reasoning must_be_true \
      must_be_false cannot_be_true could_be_true logically_follows what_comes_next next_in_the_sequence \
      brain_teaser lateral_thinking logic_puzzle riddle puzzle puzzles explain_your_answer justify_your_answer \
      paso_a_paso étape_par_étape schritt_für_schritt passo_dopo_passo шаг_за_шагом 一步一步 推理 逐步"),
    (JUDGE, "why_might why_would why_do_some_people how_can_you_determine how_can_you_tell \
      how_would_you_know how_might is_it_better is_it_more_important should_we what_are_some_subtle \
      is_it_ethical is_it_fair moral_obligation pros_and_cons which_is_better what_is_more_likely \
      how_can_you_assess"),
    (WH, "what who whom whose when where which why how what's who's where's how's quel quelle quels qué \
      cuál cuáles quién cómo dónde cuándo was wer wie wo wann warum welche welcher chi come dove quando \
      perché qual quem onde что кто как где когда почему зачем какой 什么 谁 哪 为什么 怎么 なぜ どう 何 무엇 왜 \
      어떻게 누구"),
    (WHAT_IS, "what_is what_are what_was what_were who_is who_was who_were when_did where_is how_does \
      how_do how_did"),
    (EXPLAIN, "explain describe define definition tell_me_about difference_between differences_between \
      history_of overview_of introduction_to elaborate expliquer explique explica explicar \
      erkläre erklären spiega объясни объясните расскажи 解释 介绍 説明 설명"),
    (WRITE, "write compose craft draft pen come_up_with brainstorm rewrite rephrase paraphrase proofread \
      escribe escribir écris écrire rédige schreibe verfasse scrivi componi escreva напиши сочини составь \
      写 創作 書いて 작성 써"),
    (CREATIVE_FORM, "script_for_a script_for_an podcast_script movie_script film_script video_script \
      youtube_video poem poems poetry story stories short_story novel novella haiku limerick sonnet ballad \
      lyrics song songs rap verse essay essays blog blog_post speech letter email e-mail memo cover_letter \
      screenplay dialogue monologue soliloquy joke jokes pun puns slogan tagline motto tweet advertisement \
      ad commercial toast eulogy obituary fairy_tale fable fanfic fan_fiction chapter narrative anecdote \
      review product_description press_release announcement newsletter invitation greeting_card \
      wedding_vows bedtime_story love_letter acrostic ode elegy character_sketch opening_paragraph \
      cuento poema histoire poème geschichte gedicht storia poesia стихотворение стих рассказ сказку \
      сказка песню эссе 诗 故事 小说 詩 物語 이야기 소설"),
    (COUNTERFACTUAL, "what_if what_would_happen_if imagine_a_world had_never in_an_alternate \
      alternate_history what_would_the_world"),
    (ROLE, "act_as acting_as pretend pretending role-play roleplay role_play play_the_role \
      take_on_the_role assume_the_role take_the_role_of play_the_role_of in_character stay_in_character persona embody \
      impersonate imagine_you_are imagine_yourself picture_yourself suppose_you_are if_you_were \
      now_you_are yourself_as_a yourself_as_an as_if_you_were you_will_be_playing speak_like talk_like answer_as respond_as reply_as \
      from_now_on_you_are let's_play_a_game actúa_como finge agis_comme fais_semblant joue_le_rôle \
      spiel_die_rolle agisci_come finja_que представь_что_ты притворись ты_теперь 扮演 假装你是 演じて \
      なりきって 역할"),
    (YOU_ARE, "you_are you're you_are_now tu_es eres du_bist sei ты 你是"),
    (AS_A, "as_a as_an"),
    (ROLE_NOUN, "pirate knight wizard detective chef doctor teacher coach captain superhero villain \
      character king queen princess prince dragon vampire ghost robot alien astronaut comedian poet \
      shakespeare sherlock therapist interviewer salesperson tour_guide sommelier commentator \
      journalist lawyer girlfriend boyfriend mentor grandma grandmother butler time_traveler explorer \
      spy soldier emperor goddess colonist"),
    (GENERIC_ROLE, "you_are_a_helpful you_are_an_ai you_are_given you_are_provided you_are_asked \
      you_are_going you_are_able you_are_expected you_are_tasked you_are_required you_are_supposed \
      you_are_an_expert you_are_a_large you_are_chatgpt you_are_an_assistant you_are_a_assistant \
      you_are_right you_are_wrong you_are_correct you_are_welcome you_are_not"),
    (EXTRACT, "extract extracting extraction pull_out list_all list_every identify_all find_all pick_out \
      named_entities mentioned_in_the mentioned_in_this are_mentioned is_mentioned identify_the_entities output_the_names fill_in_the parse_this \
      parse_the_following \
      extrae extraer extrais extraire extrahiere extrahieren estrai extraia извлеки извлечь выдели 提取 \
      抽出 추출"),
    (EXTRACT_OBJ, "entities entity names dates emails phone_numbers addresses keywords key_phrases fields \
      values amounts prices quantities people organizations locations companies products skills \
      ingredients attributes key_information details contact_information"),
    (FORMAT, "json yaml csv xml key-value structured markdown_table bullet_list tsv key_value_pairs \
      json_format json_object as_a_table in_a_table"),
    (CONTEXT_REF, "the_following the_text_below the_passage this_passage the_paragraph this_paragraph \
      the_article this_article the_document this_document the_email this_email the_text this_text \
      given_text given_passage given_paragraph the_above reference_text the_context given_the_context \
      the_transcript this_transcript the_review these_reviews the_excerpt the_sentence_below \
      the_conversation the_presented_texts from_this from_the_text in_the_text in_this_text \
      from_the_passage in_the_passage in_the_following \
      le_texte_suivant el_siguiente_texto el_texto der_folgende den_folgenden il_testo_seguente o_texto \
      следующий_текст этот_текст 以下 下面 这段 次の 다음"),
    (SUMMARY, "summarize summarise summarizing summarising summary summaries summarization tl;dr tldr \
      sum_up recap condense gist synopsis key_points main_points main_idea main_ideas key_takeaways \
      takeaways in_a_nutshell brief_overview write_a_headline generate_a_headline generate_headline headline_for \
      a_title_for generate_a_title title_for_this title_for_the shorten \
      shorter_version \
      résume résumer résumez resumen resume resumir resuma resumo zusammenfassung zusammenfassen \
      fasse_zusammen fasse riassumi riassunto sintetizza кратко резюме перескажи суммируй краткое_содержание \
      总结 概括 摘要 要约 要約 まとめ 요약"),
    (TRANSLATE, "translate translated translating translation translations translator how_do_you_say \
      how_to_say how_would_you_say mean_in_english into_english \
      traduire traduis traduisez traduction traducir traduce traduzca traducción traduzir traduza \
      tradução tradurre traduci traduzione übersetze übersetzen übersetzung переведи перевести перевод \
      переведите 翻译 翻譯 翻訳 訳して 번역 ترجم ترجمة अनुवाद"),
    (LANG_NAME, "english french spanish german italian portuguese dutch russian ukrainian polish czech \
      swedish norwegian danish finnish greek turkish arabic hebrew persian farsi hindi urdu bengali tamil \
      telugu marathi punjabi gujarati chinese mandarin cantonese japanese korean vietnamese thai \
      indonesian malay tagalog filipino swahili latin romanian hungarian bulgarian serbian croatian \
      catalan basque irish welsh esperanto afrikaans yoruba zulu amharic nepali sinhala burmese khmer \
      anglais français espagnol allemand italien englisch französisch spanisch deutsch inglés francés \
      alemán español inglese francese tedesco inglês francês alemão английский французский немецкий \
      русский испанский китайский японский 英文 英语 中文 日语 日文 法语 英語 日本語 中国語 영어 한국어"),
    (CLASSIFY, "classify classifying classification categorize categorise categorizing categorization \
      sentiment label_each label_the label_it label_this label_these into_categories \
      one_of_these_categories one_of_the_following_categories spam_or_not is_this_spam identify_which tell_me_whether tell_me_which_of and_which_are \
      which_are_fruits is_each \
      which_category what_category sort_into group_into assign_each assign_them \
      classifica clasifica clasificar classifie classer klassifiziere kategorisiere классифицируй \
      определи_тональность 分类 分類 분류 情感 正面还是负面"),
    (LABELS, "positive negative neutral spam toxic non-toxic offensive sarcastic formal informal \
      fact opinion urgent relevant irrelevant mammal reptile fish bird fruit vegetable extinct alive \
      positive_or_negative"),
    (IMAGE_VERB, "draw paint sketch illustrate depict visualize dibuja dessine zeichne disegna desenhe \
      нарисуй 画一 画个 描いて 그려"),
    (IMAGE_NOUN, "image images picture pictures photo photos photograph illustration illustrations drawing \
      painting artwork logo icon icons wallpaper poster portrait render sticker avatar cartoon \
      mural banner thumbnail infographic mockup digital_art concept_art pixel_art 3d_render vector_art \
      clip_art clipart line_art fan_art selfie headshot \
      imagen imágenes foto dibujo bild bilder immagine imagem изображение картинку картинка фото \
      рисунок 图片 图像 照片 画像 イラスト 이미지 사진 그림"),
    (IMAGE_STYLE, "photorealistic hyperrealistic hyper-realistic realistic 8k 4k uhd hdr highly_detailed \
      ultra_detailed intricate trending_on_artstation artstation octane octane_render unreal_engine \
      cinematic_lighting studio_lighting volumetric_lighting bokeh dslr 35mm 50mm depth_of_field \
      wide_shot close-up closeup macro_shot aerial_view isometric low_poly oil_painting watercolor \
      watercolour acrylic pencil_sketch charcoal anime manga in_the_style_of greg_rutkowski midjourney \
      dall-e dalle stable_diffusion sdxl masterpiece best_quality vibrant_colors golden_hour film_grain \
      polaroid ghibli pixar vaporwave cyberpunk steampunk surreal surrealism impressionist art_nouveau \
      art_deco ukiyo-e minimalist flat_design rendered art_by sharp_focus digital_painting \
      matte_painting artgerm"),
    (VISUAL, "red blue green yellow orange purple pink black white gray grey brown golden silver colorful \
      wearing holding sitting standing lying riding flying floating running jumping walking looking \
      next_to on_top_of in_front_of behind beneath under above beside near inside surrounded_by made_of \
      covered_in shaped_like background foreground view_of close-up_of photo_of picture_of painting_of \
      drawing_of cat dog horse bird tree flower car house building street city mountain river ocean \
      beach forest sky sunset moon table chair window room kitchen field garden road"),
    (DETERMINER, "a an the two three four five several some many"),
    (EMOTION, "sad lonely stressed anxious depressed upset angry tired exhausted heartbroken worried scared \
      overwhelmed frustrated excited bored miserable nervous"),
    (ACK, "ok okay k cool nice great awesome sure yes no yeah yep nope wow hmm alright fine perfect gotcha"),
    (GREETING, "hi hello hey hiya howdy greetings yo sup good_morning good_afternoon good_evening \
      hola bonjour salut hallo ciao olá oi привет здравствуйте 你好 こんにちは 안녕하세요 مرحبا namaste merhaba"),
    (SMALLTALK, "how_are_you how's_it_going how_are_things what's_up whats_up nice_to_meet_you thanks \
      thank_you thx bye goodbye see_you lol haha lmao who_are_you what's_your_name what_is_your_name \
      are_you_a_bot are_you_human are_you_real i'm_bored i_am_bored let's_chat let's_talk talk_to_me \
      how_was_your_day good_night sweet_dreams miss_you love_you how_do_you_feel what_are_you_doing \
      do_you_like tell_me_about_yourself tell_me_a_joke merci gracias danke grazie obrigado спасибо 谢谢 ありがとう \
      감사합니다 ça_va qué_tal wie_geht's come_stai как_дела"),
    (PRON1, "i me my mine i'm i've i'd myself we our us je moi mon ma yo mí ich mich mein io mio eu meu \
      я мне мой 我 私"),
    (PRON2, "you your yours you're yourself tu toi vous tú usted du dich dein ты вы 你 您 あなた 당신"),
    (SPEECH, "text_to_speech text-to-speech tts read_aloud read_this_aloud read_it_aloud read_out_loud \
      out_loud aloud narrate narration voiceover voice-over voice_over voice_message speech_synthesis \
      synthesize_speech synthesise_speech audio audio_file audio_clip mp3 wav voice_clone \
      clone_my_voice speak_this pronounce pronunciation transcribe speech-to-text \
      speech_to_text dictation in_a_calm_voice in_a_deep_voice audiobook spoken_version"),
    (VIDEO, "video videos video_clip footage animation short_film gif timelapse time-lapse text-to-video \
      text_to_video sora b-roll slow_motion slow-motion drone_shot camera_pans camera_zooms \
      tracking_shot animated_video"),
    (MUSIC, "music melody melodies tune tunes beat beats track instrumental soundtrack jingle symphony \
      sonata riff chord_progression backing_track ringtone lullaby song \
      musique música musik musica музыку музыка мелодию 音乐 音楽 음악"),
    (MUSIC_CUE, "bpm tempo piano guitar drums bass synth synthesizer violin cello orchestra orchestral \
      lo-fi lofi hip_hop hip-hop edm techno trance jazz blues metal ambient acoustic electronic dubstep \
      reggae funk disco vocals chorus"),
    (GEN, "text-to-video text_to_video text-to-speech text_to_speech tts generate create make produce render design give_me show_me i_want i_need can_you_make \
      genera crea génère crée erzeuge erstelle generare crie создай сгенерируй 生成 作成 만들어 생성"),
    (STEP, "first then next finally also additionally moreover must should ensure include including \
      without at_least at_most exactly both avoid make_sure constraints requirements steps \
      followed_by in_addition furthermore"),
    (HARD, "prove proof derive derivation optimize optimization design architecture analyze analyse \
      analysis compare contrast evaluate trade-off trade-offs tradeoffs rigorous rigorously comprehensive \
      detailed in_depth in-depth thorough thoroughly complexity efficient efficiently concurrency \
      concurrent distributed scalable scalability multi-step research critique critically implications \
      nuanced formally theorem asymptotic edge_cases justify"),
    (EASY, "simple simply brief briefly short quick quickly one_word one_sentence yes_or_no eli5 \
      in_a_few_words just_tell_me basic easy"),
    (LENGTH, "words paragraphs pages sentences lengthy at_least chapters"),
    (MCQ, "which_of_the_following which_one_of_the_following choose_the_correct select_the_best \
      the_correct_answer answer_choices"),
    (LOGIC, "predicate_logic propositional_logic symbolic_logic formal_logic truth_table truth_tables \
      symbolize symbolization antecedent consequent tautology tautologous contradictory \
      modus_ponens modus_tollens valid_argument invalid_argument quantifier well-formed biconditional \
      disjunction conjunction indirect_truth formulas_of_pl"),
    (FALLACY, "fallacy fallacies ad_hominem straw_man strawman red_herring slippery_slope equivocation \
      appeal_to begging_the_question tu_quoque false_dilemma hasty_generalization post_hoc \
      circular_reasoning ad_populum ad_verecundiam ad_ignorantiam non_sequitur amphiboly false_cause"),
    (DOMAIN, "history historical century war empire president government law legal court contract \
      plaintiff defendant statute medicine medical patient disease symptoms treatment diagnosis biology \
      cell cells gene genes protein dna chemistry chemical physics energy economics economy market \
      inflation gdp geography capital country countries population culture religion philosophy \
      philosopher psychology anatomy nutrition vitamin virus bacteria planet planets galaxy climate \
      species evolution marketing accounting tax revenue"),
    (DISCUSS, "discuss implications impact impacts influence influences effects factors role_of \
      advantages disadvantages benefits drawbacks significance importance causes consequences"),
    (TEXT_OBJ, "article text passage paragraph document transcript meeting_notes conversation report \
      email_thread chapter review reviews news excerpt"),
    (LYRICS, "lyrics lyric verse chorus rhyme rhymes poem"),
    (NOT_MEDIA, "script outline ideas idea title titles description concept plan storyboard caption \
      captions summary review essay lyrics story"),
];

#[derive(Clone, Copy)]
struct Slot {
    key: u64,
    cats: u64,
}

pub struct Lexicon {
    slots: Box<[Slot]>,
    mask: usize,
    /// One bit per key hash (64 Kbit, fits in L1): most tokens are not keys, and this answers
    /// them without touching the larger slot table.
    filter: Box<[u64; FILTER_WORDS]>,
}

const FILTER_WORDS: usize = 1024;

#[inline]
fn filter_bit(h: u64) -> (usize, u64) {
    let b = (h >> 40) as usize & (FILTER_WORDS * 64 - 1);
    (b >> 6, 1u64 << (b & 63))
}

impl Lexicon {
    /// Builds a table from `(categories, whitespace-separated keys)` entries.
    pub fn from_entries(entries: &[(u64, &str)]) -> Lexicon {
        let mut keys: Vec<(u64, u64)> = Vec::with_capacity(4096);
        for &(cats, list) in entries {
            for key in split_keys(list) {
                if let Some(h) = key_hash(&key) {
                    keys.push((h, cats));
                }
            }
        }
        let cap = (keys.len() * 4).next_power_of_two().max(64);
        let mut slots = vec![Slot { key: 0, cats: 0 }; cap].into_boxed_slice();
        let mask = cap - 1;
        let mut filter = Box::new([0u64; FILTER_WORDS]);
        for (h, c) in keys {
            let h = h | 1;
            let (w, bit) = filter_bit(h);
            filter[w] |= bit;
            let mut i = (h as usize) & mask;
            loop {
                if slots[i].key == 0 {
                    slots[i] = Slot { key: h, cats: c };
                    break;
                }
                if slots[i].key == h {
                    slots[i].cats |= c;
                    break;
                }
                i = (i + 1) & mask;
            }
        }
        Lexicon { slots, mask, filter }
    }

    /// The shared lexicon (built once on first use).
    pub fn get() -> &'static Lexicon {
        static LEX: OnceLock<Lexicon> = OnceLock::new();
        LEX.get_or_init(|| Lexicon::from_entries(ENTRIES))
    }

    #[inline]
    pub fn lookup(&self, h: u64) -> u64 {
        let h = h | 1;
        let (w, bit) = filter_bit(h);
        if self.filter[w] & bit == 0 {
            return 0;
        }
        let mut i = (h as usize) & self.mask;
        loop {
            let s = self.slots[i];
            if s.key == h {
                return s.cats;
            }
            if s.key == 0 {
                return 0;
            }
            i = (i + 1) & self.mask;
        }
    }
}

/// Splits a list into keys: entries are separated by whitespace, words of a phrase are joined by
/// `_` (so no identifier with an underscore can be a key; none needs to be).
fn split_keys(list: &str) -> impl Iterator<Item = String> + '_ {
    list.split_whitespace().map(|k| k.replace('_', " "))
}
