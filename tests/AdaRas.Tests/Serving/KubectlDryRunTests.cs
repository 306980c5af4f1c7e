using System.Text.Json;
using AdaRas.Tests.Support;

namespace AdaRas.Tests.Serving;

/// <summary>
/// The shipped manifests through the real kubectl, offline: `kubectl create --dry-run=client --validate=false` needs
/// no API server once it knows the kinds, which a seeded discovery cache (what kubectl caches after talking to a
/// cluster) gives it; the kubeconfig points at a port nothing listens on, so any request would fail. What this checks:
/// YAML syntax, every document's apiVersion/kind against the seeded API (core v1, apps/v1, batch/v1) and the objects
/// each file creates. Not checked: field schemas (--validate=strict reads the server's OpenAPI documents) and
/// `kubectl apply` (it reads the live object first). Runs where kubectl is on PATH (tools/test.sh installs Debian's
/// kubernetes-client as root); elsewhere it is ignored, saying so.
/// </summary>
[TestFixture]
public sealed class KubectlDryRunTests
{
    static readonly string Manifests = Path.Combine(RepositoryRoot.Find(), "deploy", "kubernetes");
    string _dir = "";

    [OneTimeSetUp]
    public void SeedOfflineCluster()
    {
        if (Which("kubectl") is null) Assert.Ignore("kubectl is not on PATH (tools/test.sh installs Debian's kubernetes-client when run as root)");
        _dir = TestCheckpoints.NewFolder("kubectl");
        var discovery = Path.Combine(_dir, "cache", "discovery", "127.0.0.1_9");
        File.WriteAllText(Write(Path.Combine(_dir, "kubeconfig")), """
            apiVersion: v1
            kind: Config
            clusters: [{name: offline, cluster: {server: "https://127.0.0.1:9", insecure-skip-tls-verify: true}}]
            contexts: [{name: offline, context: {cluster: offline, user: offline, namespace: default}}]
            current-context: offline
            users: [{name: offline, user: {token: offline}}]
            """);
        static object Group(string name, string version) =>
            new { name, versions = new[] { new { groupVersion = version, version = "v1" } }, preferredVersion = new { groupVersion = version, version = "v1" } };
        File.WriteAllText(Write(Path.Combine(discovery, "servergroups.json")), JsonSerializer.Serialize(new
        {
            kind = "APIGroupList", apiVersion = "v1", groups = new[] { Group("", "v1"), Group("apps", "apps/v1"), Group("batch", "batch/v1") },
        }));
        static string Resources(string groupVersion, params (string Plural, string Kind)[] kinds) => JsonSerializer.Serialize(new
        {
            kind = "APIResourceList", apiVersion = "v1", groupVersion,
            resources = kinds.Select(k => new
            {
                name = k.Plural, singularName = k.Kind.ToLowerInvariant(), namespaced = true, kind = k.Kind,
                verbs = new[] { "create", "delete", "get", "list", "patch", "update", "watch" },
            }),
        });
        File.WriteAllText(Write(Path.Combine(discovery, "v1", "serverresources.json")),
            Resources("v1", ("persistentvolumeclaims", "PersistentVolumeClaim"), ("services", "Service"), ("secrets", "Secret"), ("configmaps", "ConfigMap")));
        File.WriteAllText(Write(Path.Combine(discovery, "apps", "v1", "serverresources.json")), Resources("apps/v1", ("deployments", "Deployment")));
        File.WriteAllText(Write(Path.Combine(discovery, "batch", "v1", "serverresources.json")), Resources("batch/v1", ("jobs", "Job")));
    }

    static string Write(string path)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        return path;
    }

    (int Code, string Output, string Error) DryRun(string path) => ExternalProcess.Run("kubectl",
        ["--kubeconfig", Path.Combine(_dir, "kubeconfig"), "--cache-dir", Path.Combine(_dir, "cache"), "--request-timeout", "5s",
            "create", "--dry-run=client", "--validate=false", "-o", "name", "-f", path],
        TimeSpan.FromSeconds(60), environment: new Dictionary<string, string> { ["KUBECONFIG"] = Path.Combine(_dir, "kubeconfig") });

    [Test]
    public void EveryManifest_IsAcceptedByKubectl_Offline()
    {
        var (code, output, error) = DryRun(Manifests);
        Assert.That(code, Is.Zero, error);
        Assert.That(output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Order(), Is.EqualTo(new[]
        {
            "deployment.apps/adaras-serve", "job.batch/adaras-eval-gsm8k-adaptive", "job.batch/adaras-merge-gsm8k-adaptive",
            "persistentvolumeclaim/adaras-data", "service/adaras-serve",
        }));
    }

    [Test]
    public void AnUnknownKind_OrBrokenYaml_IsRefused()
    {
        // The control: the same check refuses what a cluster would refuse before any schema is read.
        var eval = File.ReadAllText(Path.Combine(Manifests, "eval-job.yaml"));
        var unknownKind = Path.Combine(_dir, "unknown-kind.yaml");
        File.WriteAllText(unknownKind, eval.Replace("kind: Job", "kind: Jobb"));
        var (code, _, error) = DryRun(unknownKind);
        Assert.That(code, Is.Not.Zero, "a kind the API does not serve");
        Assert.That(error, Does.Contain("unknown-kind.yaml"));
        var broken = Path.Combine(_dir, "broken.yaml");
        File.WriteAllText(broken, eval.Replace("metadata:", "metadata: {"));
        (code, _, error) = DryRun(broken);
        Assert.That(code, Is.Not.Zero, "YAML that does not parse");
        Assert.That(error, Does.Contain("broken.yaml"));
    }

    static string? Which(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Select(d => Path.Combine(d, name)).FirstOrDefault(File.Exists);
}
