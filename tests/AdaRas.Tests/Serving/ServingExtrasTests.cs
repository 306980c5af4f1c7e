using System.Text.Json.Nodes;
using AdaRas.Serving;
using AdaRas.Serving.Bench;
using AdaRas.Serving.Http;
using AdaRas.Serving.Steering;

namespace AdaRas.Tests.Serving;

/// <summary>The server-wide default steering, and the latency bench's own checks on the tiny model.</summary>
[TestFixture]
public sealed class ServingExtrasTests
{
    const string Question = "How many apples are in twice the boxes?";

    [Test]
    public async Task DefaultSteering_AppliesToRequestsWithoutSteering_AndABadDefaultIsRefusedAtStart()
    {
        await using var plain = await TestServer.StartAsync();
        object Body(object? steering) => new { messages = new[] { new { role = "user", content = Question } }, max_tokens = 24, steering };
        var explicitSteering = new { pattern = "tiny", neurons = 10, alpha = 2 };
        var steeredAnswer = (await plain.PostAsync("/v1/chat/completions", Body(explicitSteering))).Body!["choices"]!.ToJsonString();
        var plainAnswer = (await plain.PostAsync("/v1/chat/completions", Body(null))).Body!["choices"]!.ToJsonString();
        Assert.That(steeredAnswer, Is.Not.EqualTo(plainAnswer), "control");

        using var model = AdaRas.Engine.LanguageModel.Load(ServingAssets.ModelFolder);
        var patterns = new[] { new ServedPattern("tiny", ServingAssets.PatternPath) };
        using var host = new ModelHost(model, patterns, null, "tiny-model", SteeringRequest.FromJson("""{"pattern":"tiny","neurons":10,"alpha":2}"""));
        await using var app = ServingApp.Create(host, new ServerOptions { Port = 0 });
        await app.StartAsync();
        using var http = new HttpClient { BaseAddress = new Uri(app.Address) };
        var response = await http.PostAsync("/v1/chat/completions", new StringContent(System.Text.Json.JsonSerializer.Serialize(Body(null))));
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.That(body["choices"]!.ToJsonString(), Is.EqualTo(steeredAnswer));
        Assert.That((bool)body["steering"]!["steered"]!, Is.True);

        Assert.That(() => new ModelHost(model, patterns, null, "x", SteeringRequest.FromJson("""{"pattern":"nope"}""")),
            Throws.ArgumentException.With.Message.Contains("nope"));
        Assert.That(() => SteeringRequest.FromJson("""{"pattern":"tiny","alpha":"x"}"""), Throws.ArgumentException.With.Message.Contains("alpha"));
    }

    [Test]
    public async Task LatencyBench_RunsBothPathsSideBySide_AndTheStreamCarriesEveryToken()
    {
        using var model = AdaRas.Engine.LanguageModel.Load(ServingAssets.ModelFolder);
        // MeasureAsync itself fails unless each streamed run carries exactly one event per generated token.
        var report = await ServingLatency.MeasureAsync(model, promptTokens: 16, newTokens: 8, repeats: 3);
        TestContext.Out.WriteLine(report.ToMarkdown());
        Assert.That(report.InProcess.FirstTokenMs, Is.GreaterThan(0));
        Assert.That(report.Server.FirstTokenMs, Is.GreaterThan(0));
        Assert.That(report.ToMarkdown(), Does.Contain("server / in-process, paired by round"));
        // No assertion on the 5% and 1 ms targets: on this shared 2-core machine the tiny model's sub-millisecond
        // steps drown in scheduling noise (README, Serve: measured with `adaras serve bench`).
    }
}
