using AdaRas.Tests.Support;

namespace AdaRas.Tests;

/// <summary>Runs once around every test in AdaRas.Tests.*: removes the temporary checkpoints the tests made.</summary>
[SetUpFixture]
public sealed class TestRunCleanup
{
    [OneTimeTearDown]
    public void DeleteTemporaryFiles() => TestCheckpoints.DeleteAll();
}
