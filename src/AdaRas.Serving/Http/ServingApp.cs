using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace AdaRas.Serving.Http;

/// <summary>
/// `adaras serve`: an OpenAI-compatible HTTP server over one <see cref="ModelHost"/>. POST /v1/chat/completions
/// (streamed as server-sent events or not), POST /v1/completions (echo and logprobs, what lm-evaluation-harness
/// needs), GET /v1/models and GET /health. Every refusal is an OpenAI-shaped error with a 4xx status; a request
/// never takes the server down.
/// </summary>
public sealed partial class ServingApp : IAsyncDisposable
{
    readonly WebApplication _app;
    readonly ModelHost _host;
    readonly ServerOptions _options;
    readonly byte[]? _apiKey;

    ServingApp(WebApplication app, ModelHost host, ServerOptions options)
    {
        _app = app; _host = host; _options = options;
        _apiKey = options.ApiKey is null ? null : Encoding.UTF8.GetBytes(options.ApiKey);
    }

    /// <summary>The bound base address (http://host:port), known after <see cref="StartAsync"/>.</summary>
    public string Address { get; private set; } = "";

    /// <summary>Builds the server for <paramref name="host"/> (not started; <see cref="StartAsync"/> binds it).</summary>
    public static ServingApp Create(ModelHost host, ServerOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(host);
        options ??= new ServerOptions();
        var address = options.Host == "localhost" ? IPAddress.Loopback
            : IPAddress.TryParse(options.Host, out var ip) ? ip
            : throw new ArgumentException($"--host must be an IP address (127.0.0.1, 0.0.0.0, ::1) or localhost, got '{options.Host}'");
        if (options.Port is < 0 or > 65535) throw new ArgumentException($"--port must be in 0..65535, got {options.Port}");
        if (options.ApiKey is { Length: 0 }) throw new ArgumentException("--api-key must not be empty");

        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Listen(address, options.Port);
            k.AddServerHeader = false;
            k.Limits.MaxRequestBodySize = host.Limits.MaxBodyBytes;
        });
        var app = builder.Build();
        var serving = new ServingApp(app, host, options);
        app.Use(serving.Guard);
        app.MapGet("/health", serving.Health);
        app.MapGet("/v1/models", serving.Models);
        app.MapPost("/v1/chat/completions", serving.ChatCompletions);
        app.MapPost("/v1/completions", serving.Completions);
        app.MapFallback(ctx => throw (Routes.Contains(ctx.Request.Path.Value ?? "")
            ? new RequestException(405, $"{ctx.Request.Method} is not allowed on {ctx.Request.Path}", "invalid_request_error", code: "method_not_allowed")
            : new RequestException(404, $"no route {ctx.Request.Method} {ctx.Request.Path}", "invalid_request_error", code: "not_found")));
        return serving;
    }

    static readonly HashSet<string> Routes = new(["/health", "/v1/models", "/v1/chat/completions", "/v1/completions"], StringComparer.OrdinalIgnoreCase);

    /// <summary>Binds and starts listening; <see cref="Address"/> then holds the bound address.</summary>
    public async Task StartAsync(CancellationToken cancellation = default)
    {
        await _app.StartAsync(cancellation).ConfigureAwait(false);
        var bound = _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        Address = bound.Replace("[::]", "127.0.0.1");
    }

    /// <summary>Completes when the server stops or <paramref name="cancellation"/> fires.</summary>
    public Task WaitForShutdownAsync(CancellationToken cancellation) => _app.WaitForShutdownAsync(cancellation);

    /// <summary>
    /// Serves <paramref name="host"/> until <paramref name="cancellation"/> fires (Ctrl+C): starts, reports the bound
    /// address through <paramref name="listening"/>, waits, and always shuts the server down.
    /// </summary>
    public static void RunUntilStopped(ModelHost host, ServerOptions options, Action<string> listening, CancellationToken cancellation)
    {
        var app = Create(host, options);
        try
        {
            app.StartAsync(cancellation).GetAwaiter().GetResult();
            listening(app.Address);
            app.WaitForShutdownAsync(cancellation).GetAwaiter().GetResult();
        }
        finally
        {
            app.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
    }

    /// <summary>Stops the server; in-flight requests are cancelled.</summary>
    public async ValueTask DisposeAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        try { await _app.StopAsync(timeout.Token).ConfigureAwait(false); } catch (OperationCanceledException) { }
        await _app.DisposeAsync().ConfigureAwait(false);
    }

    // ---- cross-cutting: API key, errors ----

    async Task Guard(HttpContext ctx, RequestDelegate next)
    {
        ctx.Items[ReceivedKey] = System.Diagnostics.Stopwatch.GetTimestamp();
        try
        {
            if (_apiKey is not null && ctx.Request.Path.StartsWithSegments("/v1") && !Authorized(ctx.Request))
                throw new RequestException(401, "Incorrect API key provided", "invalid_request_error", code: "invalid_api_key");
            await next(ctx).ConfigureAwait(false);
            if (ctx.Response.StatusCode == 405 && !ctx.Response.HasStarted)
                throw new RequestException(405, $"{ctx.Request.Method} is not allowed on {ctx.Request.Path}", "invalid_request_error", code: "method_not_allowed");
        }
        catch (RequestException e) when (!ctx.Response.HasStarted)
        {
            await WriteError(ctx, e.Status, e.Message, e.Type, e.Param, e.Code).ConfigureAwait(false);
        }
        catch (BadHttpRequestException e) when (!ctx.Response.HasStarted)
        {
            string message = e.StatusCode == 413 ? $"the request body is larger than this server's limit of {_host.Limits.MaxBodyBytes} bytes" : e.Message;
            await WriteError(ctx, e.StatusCode, message, "invalid_request_error", null, e.StatusCode == 413 ? "request_too_large" : null).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (ctx.RequestAborted.IsCancellationRequested)
        {
            // The client went away: generation stopped with it; nobody is left to answer.
        }
        catch (Exception e) when (!ctx.Response.HasStarted)
        {
            Console.Error.WriteLine($"[serve] {ctx.Request.Method} {ctx.Request.Path} failed: {e}");
            await WriteError(ctx, 500, $"internal error: {e.GetType().Name}: {e.Message}", "server_error", null, null).ConfigureAwait(false);
        }
    }

    static readonly object ReceivedKey = new();

    /// <summary>When the request reached the server (the first middleware), as a <see cref="System.Diagnostics.Stopwatch"/> timestamp.</summary>
    static long Received(HttpContext ctx) => (long)ctx.Items[ReceivedKey]!;

    bool Authorized(HttpRequest request)
    {
        string header = request.Headers.Authorization.ToString();
        const string bearer = "Bearer ";
        if (!header.StartsWith(bearer, StringComparison.OrdinalIgnoreCase)) return false;
        return CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(header[bearer.Length..].Trim()), _apiKey);
    }

    static Task WriteError(HttpContext ctx, int status, string message, string type, string? param, string? code)
    {
        ctx.Response.StatusCode = status;
        ctx.Response.ContentType = "application/json";
        if (status == 401) ctx.Response.Headers.WWWAuthenticate = "Bearer";
        return ctx.Response.Body.WriteAsync(OpenAiWriter.Error(message, type, param, code)).AsTask();
    }

    /// <summary>Reads the body within the size limit (413 beyond it) and parses it (400 when it is not a JSON object).</summary>
    async Task<JsonDocument> ReadJson(HttpContext ctx)
    {
        long limit = _host.Limits.MaxBodyBytes;
        if (ctx.Request.ContentLength > limit)
            throw new RequestException(413, $"the request body is {ctx.Request.ContentLength} bytes; this server's limit is {limit}", "invalid_request_error", code: "request_too_large");
        using var buffer = new MemoryStream();
        var chunk = new byte[16384];
        int read;
        while ((read = await ctx.Request.Body.ReadAsync(chunk, ctx.RequestAborted).ConfigureAwait(false)) > 0)
        {
            if (buffer.Length + read > limit)
                throw new RequestException(413, $"the request body is larger than this server's limit of {limit} bytes", "invalid_request_error", code: "request_too_large");
            buffer.Write(chunk, 0, read);
        }
        return CommonRequest.ParseBody(buffer.GetBuffer().AsMemory(0, (int)buffer.Length));
    }

    // ---- GET ----

    Task Health(HttpContext ctx)
    {
        var runner = _host.Runner;
        return Results.Json(new
        {
            status = "ok",
            model = _host.ModelId,
            in_flight = runner.InFlight,
            live_generators = runner.LiveGenerators,
            max_batch = runner.MaxBatch,
            completed = runner.Completed,
            cancelled = runner.Cancelled,
            failed = runner.Failed,
        }).ExecuteAsync(ctx);
    }

    Task Models(HttpContext ctx) => Results.Json(new
    {
        @object = "list",
        data = new[]
        {
            new { id = _host.ModelId, @object = "model", created = Created, owned_by = "adaras", steering_patterns = _host.PatternNames.ToArray() },
        },
    }).ExecuteAsync(ctx);

    static readonly long Created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
}
