using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using AdaRas.Model;
using AdaRas.Probing.Features;
using AdaRas.Probing.Gate;
using AdaRas.Serving;
using AdaRas.Serving.Http;
using AdaRas.Serving.Steering;
using AdaRas.Tests.Probing;
using AdaRas.Tests.Support;
using AdaRas.Model.Synthetic;

namespace AdaRas.Tests.Serving;

/// <summary>The tiny model's export, a pattern and a gate trained on it: made once per test run, shared read-only.</summary>
static class ServingAssets
{
    public static readonly CheckpointShape Shape = CheckpointShapes.Tiny;

    static readonly Lazy<(string Model, string Pattern, string Gate)> Made = new(() =>
    {
        var folder = TestExports.Folder(Shape);
        var dir = TestCheckpoints.NewFolder("serving");
        Directory.CreateDirectory(dir);
        var pattern = TinyPattern.Write(Path.Combine(dir, "pattern.csv"), Shape);
        using var model = AdaRas.Engine.LanguageModel.Load(folder);
        var shape = ModelShape.FromManifest(model.Manifest);
        var train = LabelledQuestionFile.Load(QuestionFiles.Write("train.jsonl", QuestionFiles.MarkerRows(12, seed: 11)));
        var validation = LabelledQuestionFile.Load(QuestionFiles.Write("validation.jsonl", QuestionFiles.MarkerRows(6, seed: 12)));
        int[] ids = [3, 17, 40, 96, 120, 191];
        var result = AttentionGateTrainer.Train(shape, ids, QuestionDataset.GateExamples(model, train, ids),
            QuestionDataset.GateExamples(model, validation, ids), new AttentionGateOptions { HiddenSize = 8, MaxEpochs = 3 });
        var gate = Path.Combine(dir, "gate.bin");
        result.Gate.Save(gate);
        return (folder, pattern, gate);
    });

    public static string ModelFolder => Made.Value.Model;
    public static string PatternPath => Made.Value.Pattern;
    public static string GatePath => Made.Value.Gate;
}

/// <summary>A running `adaras serve` on 127.0.0.1 (a free port) over the tiny model, pattern "tiny" with its gate.</summary>
sealed class TestServer : IAsyncDisposable
{
    public const string ApiKey = "test-key";
    public const string PatternName = "tiny";

    public AdaRas.Engine.LanguageModel Model { get; }
    public ModelHost Host { get; }
    public ServingApp App { get; }
    public HttpClient Http { get; }
    public string BaseUrl => App.Address;

    TestServer(AdaRas.Engine.LanguageModel model, ModelHost host, ServingApp app)
    {
        Model = model; Host = host; App = app;
        Http = new HttpClient { BaseAddress = new Uri(app.Address), Timeout = TimeSpan.FromSeconds(60) };
        Http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", ApiKey);
    }

    public static async Task<TestServer> StartAsync(ServingLimits? limits = null)
    {
        var model = AdaRas.Engine.LanguageModel.Load(ServingAssets.ModelFolder);
        var host = new ModelHost(model, [new ServedPattern(PatternName, ServingAssets.PatternPath, ServingAssets.GatePath)], limits, "tiny-model");
        var app = ServingApp.Create(host, new ServerOptions { Port = 0, ApiKey = ApiKey });
        await app.StartAsync();
        Assert.That(app.Address, Does.StartWith("http://127.0.0.1:"), "the server binds loopback only");
        return new TestServer(model, host, app);
    }

    public async Task<(int Status, JsonNode? Body)> PostAsync(string path, object body)
    {
        using var response = await Http.PostAsync(path, new StringContent(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json"));
        var text = await response.Content.ReadAsStringAsync();
        return ((int)response.StatusCode, text.Length == 0 ? null : JsonNode.Parse(text));
    }

    public async Task<JsonNode> HealthAsync() => JsonNode.Parse(await Http.GetStringAsync("/health"))!;

    /// <summary>Waits until no request is in flight (the runner's counters settle after a response is sent).</summary>
    public async Task<JsonNode> IdleHealthAsync()
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (true)
        {
            var h = await HealthAsync();
            if ((int)h["in_flight"]! == 0 || DateTime.UtcNow > deadline) return h;
            await Task.Delay(20);
        }
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await App.DisposeAsync();
        Host.Dispose();
        Model.Dispose();
    }
}
