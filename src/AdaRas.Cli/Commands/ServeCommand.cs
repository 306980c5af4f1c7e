using System.CommandLine;
using AdaRas.Serving;
using AdaRas.Serving.Http;
using AdaRas.Serving.Steering;

namespace AdaRas.Cli.Commands;

/// <summary><c>adaras serve</c>: the OpenAI-compatible server (AdaRas.Serving) on one loaded model.</summary>
static class ServeCommand
{
    public static Command Create(CliConsole console)
    {
        var model = new ModelOption();
        var host = new Option<string>("--host") { Description = "address to bind (127.0.0.1 by default; 0.0.0.0 exposes the server)", DefaultValueFactory = _ => "127.0.0.1" };
        var port = new Option<int>("--port") { Description = "port (0 picks a free one; the address is printed)", DefaultValueFactory = _ => 8000 };
        var apiKey = new Option<string?>("--api-key") { Description = "require 'Authorization: Bearer <key>' on /v1/* (default: $ADARAS_API_KEY when set)" };
        var modelName = new Option<string?>("--model-name") { Description = "the id clients name in \"model\" (default: the model folder's name)" };
        var patterns = new Option<string[]>("--pattern") { Description = "NAME=pattern.csv: a pattern requests may steer with, by name (repeatable)", AllowMultipleArgumentsPerToken = false };
        var gates = new Option<string[]>("--gate") { Description = "NAME=gate.bin: the gate for pattern NAME, used when a request's steering says gate on (repeatable)" };
        var defaultSteering = new Option<string?>("--default-steering") { Description = "steering object (JSON) for requests that carry none, e.g. '{\"pattern\":\"gsm8k\",\"gate\":\"on\"}'" };
        var limits = new ServingLimits();
        var maxPrompt = new Option<int>("--max-prompt-tokens") { Description = "longest prompt accepted, in tokens", DefaultValueFactory = _ => limits.MaxPromptTokens };
        var maxTokens = new Option<int>("--max-tokens") { Description = "largest max_tokens a request may ask for", DefaultValueFactory = _ => limits.MaxTokens };
        var maxConcurrent = new Option<int>("--max-concurrent") { Description = "requests running or queued at once (more get 429)", DefaultValueFactory = _ => limits.MaxConcurrentRequests };
        var maxBody = new Option<long>("--max-body-bytes") { Description = "largest request body (larger gets 413)", DefaultValueFactory = _ => limits.MaxBodyBytes };
        var maxBatch = new Option<int>("--max-batch") { Description = "requests decoded together (continuous batching; each keeps its own steering and sampling)", DefaultValueFactory = _ => limits.MaxBatch };
        var command = new Command("serve", "Serve the model over an OpenAI-compatible HTTP API (chat, completions with logprobs), with per-request steering and gating")
        {
            host, port, apiKey, modelName, patterns, gates, defaultSteering, maxPrompt, maxTokens, maxConcurrent, maxBody, maxBatch,
        };
        model.AddTo(command);
        command.Add(ServeBenchCommand.Create(console));
        command.SetAction((parse, cancellation) => Task.FromResult(CommandRunner.Run(console, () =>
        {
            var served = ServedPattern.Parse(parse.GetValue(patterns) ?? [], parse.GetValue(gates) ?? []);
            var servingLimits = new ServingLimits
            {
                MaxPromptTokens = parse.GetValue(maxPrompt), MaxTokens = parse.GetValue(maxTokens), MaxConcurrentRequests = parse.GetValue(maxConcurrent),
                MaxBodyBytes = parse.GetValue(maxBody), MaxBatch = parse.GetValue(maxBatch),
            };
            servingLimits.Validate();
            var apiKeyValue = parse.GetValue(apiKey) ?? (Environment.GetEnvironmentVariable("ADARAS_API_KEY") is { Length: > 0 } fromEnv ? fromEnv : null);
            var options = new ServerOptions { Host = parse.GetValue(host)!, Port = parse.GetValue(port), ApiKey = apiKeyValue };
            using var m = model.Load(parse, console, cancellation);
            // The id clients send as "model": the name given, else the folder or checkpoint named by --model.
            string id = parse.GetValue(modelName) ?? Path.GetFileName(Path.TrimEndingDirectorySeparator(model.PathOf(parse)));
            var fallback = parse.GetValue(defaultSteering) is { } json ? SteeringRequest.FromJson(json) : null;
            using var modelHost = new ModelHost(m, served, servingLimits, id, fallback);
            ServingApp.RunUntilStopped(modelHost, options, address =>
            {
                console.Out.WriteLine($"listening on {address} (model '{modelHost.ModelId}', patterns: " +
                    $"{(modelHost.PatternNames.Count == 0 ? "none" : string.Join(", ", modelHost.PatternNames))}{(options.ApiKey is null ? "" : ", API key required")})");
                console.Out.Flush();
            }, cancellation);
            return 0;
        })));
        return command;
    }
}
