using System.Text;
using AdaRas.Engine.Tokenization;

namespace AdaRas.Serving;

/// <summary>A chat turn as clients send it.</summary>
public sealed record ChatTurn(string Role, string Content);

/// <summary>
/// Renders a conversation with Qwen3's chat template. A system message and one user message render exactly as
/// <see cref="Qwen3ChatTemplate.Render"/> (what `adaras generate` uses); longer conversations follow the same
/// template, with earlier assistant turns' reasoning removed as Qwen3's template does.
/// </summary>
static class ChatPrompt
{
    public static string Render(IReadOnlyList<ChatTurn> turns, bool enableThinking)
    {
        if (turns.Count == 0) throw RequestException.Invalid("messages must hold at least one message", "messages");
        for (int i = 0; i < turns.Count; i++)
        {
            var role = turns[i].Role;
            if (role is not ("system" or "developer" or "user" or "assistant"))
                throw RequestException.Invalid($"messages[{i}].role '{role}' is not supported (system, developer, user, assistant)", $"messages[{i}].role");
            if (role is "system" or "developer" && i > 0)
                throw RequestException.Invalid($"messages[{i}]: a system message must come first", $"messages[{i}].role");
        }
        if (turns[^1].Role != "user")
            throw RequestException.Invalid("the last message must be the user's", $"messages[{turns.Count - 1}].role");

        string? system = turns[0].Role is "system" or "developer" ? turns[0].Content : null;
        var rest = system is null ? turns : turns.Skip(1).ToList();
        if (rest.Count == 1) return Qwen3ChatTemplate.Render(rest[0].Content, system, enableThinking);

        var history = new StringBuilder();
        if (system is not null) history.Append(Qwen3ChatTemplate.ImStart).Append("system\n").Append(system).Append(Qwen3ChatTemplate.ImEnd).Append('\n');
        foreach (var turn in rest.Take(rest.Count - 1))
        {
            var content = turn.Role == "assistant" ? Qwen3ChatTemplate.SplitThinking(turn.Content).Content : turn.Content;
            history.Append(Qwen3ChatTemplate.ImStart).Append(turn.Role).Append('\n').Append(content).Append(Qwen3ChatTemplate.ImEnd).Append('\n');
        }
        return history + Qwen3ChatTemplate.Render(rest[^1].Content, null, enableThinking);
    }
}
