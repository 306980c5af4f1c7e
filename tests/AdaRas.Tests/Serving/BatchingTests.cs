using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using AdaRas.Serving;

namespace AdaRas.Tests.Serving;

/// <summary>
/// Continuous batching in the server: concurrent requests with different steering (or none) and different sampling
/// decode together, one forward pass per step for all of them, and each gets the answer it gets alone; a client
/// that goes away frees its row at once while the others go on.
/// </summary>
[TestFixture]
public sealed class BatchingTests
{
    const int Tokens = 12;

    static object Chat(object? steering, int maxTokens = Tokens, double temperature = 0, int seed = 0, bool stream = false) => new
    {
        model = "tiny-model", messages = new[] { new { role = "user", content = "How many apples are in twice the boxes?" } },
        max_tokens = maxTokens, temperature, seed, steering, stream, stop = new[] { "never-in-tiny-output" }, ignore_eos = true,
    };

    static readonly object[] Mixed =
    [
        Chat(null),
        Chat(new { pattern = "tiny", neurons = 10, alpha = 2 }),
        Chat(new { pattern = "tiny", neurons = 20, alpha = -3, positions = "all" }),
        Chat(null, temperature: 0.9, seed: 7),                            // its own sampler and seed in its row
        Chat(new { pattern = "tiny", neurons = 10, alpha = 2, gate = "on" }),
    ];

    /// <summary>Sends the requests together: the first token waits until all are in flight, so they share the batch.</summary>
    static async Task<string[]> Together(TestServer server, object[] bodies)
    {
        using var allIn = new ManualResetEventSlim();
        server.Host.Runner.AfterToken = _ => allIn.Wait(TimeSpan.FromSeconds(20));
        try
        {
            var sent = bodies.Select(b => server.PostAsync("/v1/chat/completions", b)).ToArray();
            var deadline = DateTime.UtcNow.AddSeconds(20);
            while (server.Host.Runner.InFlight < bodies.Length && DateTime.UtcNow < deadline) await Task.Delay(5);
            allIn.Set();
            var answers = await Task.WhenAll(sent);
            Assert.That(answers.Select(a => a.Status), Is.All.EqualTo(200), string.Join("\n", answers.Select(a => a.Body?.ToJsonString())));
            return answers.Select(a => a.Body!["choices"]!.ToJsonString()).ToArray();
        }
        finally
        {
            allIn.Set();
            server.Host.Runner.AfterToken = null;
        }
    }

    [Test]
    public async Task MixedSteeringAndSampling_DecodeInSharedSteps_EachAnswerAsAlone()
    {
        await using var server = await TestServer.StartAsync(new ServingLimits { MaxBatch = 8 });
        var alone = new List<string>();
        foreach (var body in Mixed) alone.Add((await server.PostAsync("/v1/chat/completions", body)).Body!["choices"]!.ToJsonString());
        Assert.That(alone.Distinct().Count(), Is.GreaterThanOrEqualTo(4), "control: the settings answer differently");

        long before = server.Host.Runner.Steps;
        var together = await Together(server, Mixed);
        long steps = server.Host.Runner.Steps - before;
        Assert.That(together, Is.EqualTo(alone), "each row's answer is the one it gets alone");
        // Every request makes 12 tokens: alone that is 12 forward passes each (5 x 12 = 60); together they share them.
        Assert.That(steps, Is.LessThanOrEqualTo(Tokens + 1), $"{Mixed.Length} requests of {Tokens} tokens in {steps} steps");
        Assert.That(server.Host.Runner.LiveGenerators, Is.Zero);
        Assert.That(server.Host.Steering.Leased, Is.Zero, "every steerer lease was handed back");
    }

    [Test]
    public async Task MaxBatchOne_RunsTheSameRequestsOneAfterAnother()
    {
        // The control of the shared-steps count above: with one row nothing is shared, and the answers are the same.
        await using var server = await TestServer.StartAsync(new ServingLimits { MaxBatch = 1 });
        var bodies = Mixed.Take(3).ToArray();
        var alone = new List<string>();
        foreach (var body in bodies) alone.Add((await server.PostAsync("/v1/chat/completions", body)).Body!["choices"]!.ToJsonString());
        long before = server.Host.Runner.Steps;
        var together = await Together(server, bodies);
        Assert.That(server.Host.Runner.Steps - before, Is.EqualTo(bodies.Length * Tokens));
        Assert.That(together, Is.EqualTo(alone));
        Assert.That((int)(await server.HealthAsync())["max_batch"]!, Is.EqualTo(1));
    }

    [Test]
    public async Task HostileSteering_FailsItsOwnRequestWith400_TheOthersInTheBatchFinish()
    {
        const float alpha = 1e30f; // finite, so the request parses; the steering it makes is not
        await using var server = await TestServer.StartAsync();
        var plain = Chat(null);
        string alone = (await server.PostAsync("/v1/chat/completions", plain)).Body!["choices"]!.ToJsonString();
        var hostile = Chat(new { pattern = "tiny", neurons = 20, alpha });
        using var allIn = new ManualResetEventSlim();
        server.Host.Runner.AfterToken = _ => allIn.Wait(TimeSpan.FromSeconds(20));
        try
        {
            var first = server.PostAsync("/v1/chat/completions", plain);
            var deadline = DateTime.UtcNow.AddSeconds(20);
            while (server.Host.Runner.InFlight < 1 && DateTime.UtcNow < deadline) await Task.Delay(5);
            var bad = server.PostAsync("/v1/chat/completions", hostile);
            while (server.Host.Runner.InFlight < 2 && DateTime.UtcNow < deadline) await Task.Delay(5);
            allIn.Set();
            var (status, error) = await bad;
            Assert.That(status, Is.EqualTo(400), error?.ToJsonString());
            Assert.That((string?)error!["error"]!["param"], Is.EqualTo("steering.alpha"));
            var (okStatus, body) = await first;
            Assert.That(okStatus, Is.EqualTo(200));
            Assert.That(body!["choices"]!.ToJsonString(), Is.EqualTo(alone), "the request batched with it is unaffected");
        }
        finally
        {
            allIn.Set();
            server.Host.Runner.AfterToken = null;
        }
        var health = await server.IdleHealthAsync();
        Assert.That((long)health["failed"]!, Is.Zero, "a refused request is not a server failure");
        Assert.That((int)health["live_generators"]!, Is.Zero);
        Assert.That((await server.PostAsync("/v1/chat/completions", plain)).Status, Is.EqualTo(200), "the server goes on serving");
    }

    [Test]
    public async Task AClientThatGoesAway_FreesItsRowAtOnce_TheOthersFinishWithTheirAnswers()
    {
        await using var server = await TestServer.StartAsync();
        const int Long = 150;
        var a = Chat(new { pattern = "tiny", neurons = 10, alpha = 2 }, maxTokens: Long);
        var b = Chat(null, maxTokens: Long);
        string aloneA = (await server.PostAsync("/v1/chat/completions", a)).Body!["choices"]![0]!["message"]!.ToJsonString();
        string aloneB = (await server.PostAsync("/v1/chat/completions", b)).Body!["choices"]![0]!["message"]!.ToJsonString();

        int rowsAfterCancel = -1;
        long cancelledBefore = server.Host.Runner.Cancelled;
        server.Host.Runner.AfterToken = _ => Thread.Sleep(1); // 150 steps of 3 rows take over 450 ms: the others are mid-generation
        try
        {
            var runA = server.PostAsync("/v1/chat/completions", a);
            var runB = server.PostAsync("/v1/chat/completions", b);
            using (var client = new HttpClient(new SocketsHttpHandler { MaxResponseDrainSize = 0 }) { BaseAddress = new Uri(server.BaseUrl) })
            {
                using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions")
                {
                    Content = new StringContent(JsonSerializer.Serialize(Chat(new { pattern = "tiny", neurons = 20, alpha = -3 }, maxTokens: 200, stream: true)),
                        Encoding.UTF8, "application/json"),
                };
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", TestServer.ApiKey);
                var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
                var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
                Assert.That(await reader.ReadLineAsync(), Does.StartWith("data: {"));
                response.Dispose(); // the client goes away after its first event
            }
            // The row is freed the step the disconnect is seen, long before the others finish (a row that kept
            // generating would be counted cancelled only after its 200 tokens, once the others are done).
            while (server.Host.Runner.Cancelled == cancelledBefore && !runA.IsCompleted) await Task.Delay(1);
            rowsAfterCancel = server.Host.Runner.LiveGenerators;
            bool othersStillRunning = !runA.IsCompleted && !runB.IsCompleted;
            var (statusA, bodyA) = await runA;
            var (statusB, bodyB) = await runB;
            Assert.That(server.Host.Runner.Cancelled, Is.EqualTo(cancelledBefore + 1), "the stream's generation was cancelled");
            Assert.That(othersStillRunning, "the cancelled row was freed while the other two were still generating");
            Assert.That(rowsAfterCancel, Is.EqualTo(2), "its row was freed while the other two ran");
            Assert.That((statusA, statusB), Is.EqualTo((200, 200)));
            Assert.That(bodyA!["choices"]![0]!["message"]!.ToJsonString(), Is.EqualTo(aloneA));
            Assert.That(bodyB!["choices"]![0]!["message"]!.ToJsonString(), Is.EqualTo(aloneB));
        }
        finally
        {
            server.Host.Runner.AfterToken = null;
        }
        var health = await server.IdleHealthAsync();
        Assert.That((int)health["live_generators"]!, Is.Zero);
    }
}
