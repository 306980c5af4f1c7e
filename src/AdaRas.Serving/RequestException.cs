using System.Text.Json;

namespace AdaRas.Serving;

/// <summary>
/// A request the server refuses: the HTTP status and the OpenAI error fields (type, param, code) it answers with.
/// Thrown by validation anywhere in the serving path; never for a bug (those are 500s).
/// </summary>
public sealed class RequestException(int status, string message, string type, string? param = null, string? code = null)
    : Exception(message)
{
    /// <summary>The HTTP status of the answer (4xx).</summary>
    public int Status { get; } = status;
    /// <summary>OpenAI's error <c>type</c> (e.g. invalid_request_error).</summary>
    public string Type { get; } = type;
    /// <summary>The request field at fault, when there is one.</summary>
    public string? Param { get; } = param;
    /// <summary>OpenAI's error <c>code</c> (e.g. model_not_found), when there is one.</summary>
    public string? Code { get; } = code;

    /// <summary>A 400 invalid_request_error naming <paramref name="param"/>.</summary>
    public static RequestException Invalid(string message, string? param = null, string? code = null) =>
        new(400, message, "invalid_request_error", param, code);
}

/// <summary>Typed reads of request JSON that name the offending field.</summary>
static class Json
{
    public static string String(JsonElement v, string name) =>
        v.ValueKind == JsonValueKind.String ? v.GetString()! : throw RequestException.Invalid($"{name} must be a string", name);

    public static double Number(JsonElement v, string name) =>
        v.ValueKind == JsonValueKind.Number && v.TryGetDouble(out double d) ? d : throw RequestException.Invalid($"{name} must be a number", name);

    public static int Int(JsonElement v, string name) =>
        v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out int i) ? i : throw RequestException.Invalid($"{name} must be an integer", name);

    public static bool Bool(JsonElement v, string name) => v.ValueKind switch
    {
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        _ => throw RequestException.Invalid($"{name} must be true or false", name),
    };

    public static bool IsNull(JsonElement v) => v.ValueKind is JsonValueKind.Null or JsonValueKind.Undefined;
}
