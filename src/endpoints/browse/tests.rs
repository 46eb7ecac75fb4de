//! Unit tests of `browse`.

use super::*;

#[test]
fn families_from_ids() {
    for (id, fam) in [
        ("openai/gpt-4o", "gpt-4o"),
        ("openai/gpt-4o-mini", "gpt-4o"),
        ("openai/gpt-4.1-mini", "gpt-4.1"),
        ("openai/o4-mini", "o4"),
        ("openai/o3", "o3"),
        ("anthropic/claude-sonnet-4", "claude-sonnet"),
        ("anthropic/claude-sonnet-4-5", "claude-sonnet"),
        ("anthropic/claude-3-5-haiku", "claude-3.5"),
        ("anthropic/claude-3-5-sonnet-20241022", "claude-3.5"),
        ("gemini/gemini-2.5-flash", "gemini-2.5"),
        ("gemini/gemini-2.5-pro", "gemini-2.5"),
        ("deepseek/deepseek-chat", "deepseek"),
        ("deepseek/deepseek-reasoner", "deepseek"),
        ("ollama/llama3.1", "llama3.1"),
        ("groq/llama-3.3-70b-versatile", "llama-3.3"),
        ("mistral/mistral-large-latest", "mistral"),
        ("mistral/mixtral-8x7b", "mixtral"),
        ("qwen/qwen2.5-72b-instruct", "qwen2.5"),
        ("sim/fast", "fast"),
        ("x/Model-2024", "model"),
    ] {
        assert_eq!(family_of(id), fam, "{id}");
    }
}
