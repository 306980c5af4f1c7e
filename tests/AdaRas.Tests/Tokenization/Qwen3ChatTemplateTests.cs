using System.Text.Json;
using AdaRas.Engine.Tokenization;

namespace AdaRas.Tests.Tokenization;

/// <summary>
/// Expected prompts written by hand from the chat template in Qwen3's tokenizer_config.json:
/// a system message renders as '&lt;|im_start|&gt;system\n' + content + '&lt;|im_end|&gt;\n', a user message as
/// '&lt;|im_start|&gt;user\n' + content + '&lt;|im_end|&gt;\n', add_generation_prompt appends
/// '&lt;|im_start|&gt;assistant\n', and enable_thinking=false then appends '&lt;think&gt;\n\n&lt;/think&gt;\n\n'.
/// </summary>
[TestFixture]
public class Qwen3ChatTemplateTests
{
    [Test]
    public void UserTurnWithThinking() =>
        Assert.That(Qwen3ChatTemplate.Render("What is 2+2?"),
            Is.EqualTo("<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n"));

    [Test]
    public void UserTurnWithoutThinking() =>
        Assert.That(Qwen3ChatTemplate.Render("What is 2+2?", enableThinking: false),
            Is.EqualTo("<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n"));

    [Test]
    public void SystemAndUserTurns()
    {
        Assert.That(Qwen3ChatTemplate.Render("Hi", systemMessage: "You are terse."),
            Is.EqualTo("<|im_start|>system\nYou are terse.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"));
        Assert.That(Qwen3ChatTemplate.Render("Hi", systemMessage: "You are terse.", enableThinking: false),
            Is.EqualTo("<|im_start|>system\nYou are terse.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n"));
    }

    [Test]
    public void WithoutGenerationPromptThereIsNoAssistantHeaderNorThinkBlock()
    {
        Assert.That(Qwen3ChatTemplate.Render("Hi", addGenerationPrompt: false), Is.EqualTo("<|im_start|>user\nHi<|im_end|>\n"));
        Assert.That(Qwen3ChatTemplate.Render("Hi", enableThinking: false, addGenerationPrompt: false),
            Is.EqualTo("<|im_start|>user\nHi<|im_end|>\n"));
    }

    [Test]
    public void MessagesAreInsertedVerbatim() =>
        Assert.That(Qwen3ChatTemplate.Render("\n  spaced \n", systemMessage: ""),
            Is.EqualTo("<|im_start|>system\n<|im_end|>\n<|im_start|>user\n\n  spaced \n<|im_end|>\n<|im_start|>assistant\n"));

    /// <summary>The fixed strings above are what the shipped template says (guards against a different Qwen3 template).</summary>
    [Test]
    public void Qwen3TemplateTextContainsTheseFragments()
    {
        string config = File.ReadAllText(Path.Combine(TokenizerOracle.Qwen3Folder, "tokenizer_config.json"));
        string template = JsonDocument.Parse(config).RootElement.GetProperty("chat_template").GetString()!;
        Assert.That(template, Does.Contain("{{- '<|im_start|>system\\n' + messages[0].content + '<|im_end|>\\n' }}"));
        Assert.That(template, Does.Contain("{{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>' + '\\n' }}"));
        Assert.That(template, Does.Contain("{{- '<|im_start|>assistant\\n' }}"));
        Assert.That(template, Does.Contain("{%- if enable_thinking is defined and enable_thinking is false %}"));
        Assert.That(template, Does.Contain("{{- '<think>\\n\\n</think>\\n\\n' }}"));
    }

    [Test]
    public void SplitAtTheLastThinkEnd()
    {
        Assert.That(Qwen3ChatTemplate.SplitThinking("<think>\nLet me add: 2+2=4.\n</think>\n\nThe answer is 4."),
            Is.EqualTo(new ThinkingSplit("Let me add: 2+2=4.", "The answer is 4.")));
        Assert.That(Qwen3ChatTemplate.SplitThinking("first</think>second</think>\n\nfinal\n"),
            Is.EqualTo(new ThinkingSplit("first</think>second", "final")));
        // Thinking enabled: the prompt already ends the header, the model writes "<think>" itself or not at all.
        Assert.That(Qwen3ChatTemplate.SplitThinking("reasoning\n</think>\n\nanswer"),
            Is.EqualTo(new ThinkingSplit("reasoning", "answer")));
    }

    [Test]
    public void OnlyNewlinesAreStripped() =>
        Assert.That(Qwen3ChatTemplate.SplitThinking("</think>\n\n  indented answer \n\n"),
            Is.EqualTo(new ThinkingSplit("", "  indented answer ")));

    [Test]
    public void WithoutThinkEndEverythingIsContent() =>
        Assert.That(Qwen3ChatTemplate.SplitThinking("\nJust the answer.\n"), Is.EqualTo(new ThinkingSplit("", "Just the answer.")));
}
