using AdaRas.Steering.Kernels;

namespace AdaRas.Tests.Steering;

/// <summary>
/// One ILGPU CPU accelerator shared by the steering tests: creating it and compiling the kernels costs
/// seconds, which every fixture would otherwise pay again.
/// </summary>
[SetUpFixture]
internal sealed class SteeringTestDevice
{
    static KernelDevice? _cpu;

    public static KernelDevice Cpu => _cpu ??= KernelDevice.CreateCpu();

    [OneTimeTearDown]
    public void DisposeDevice()
    {
        _cpu?.Dispose();
        _cpu = null;
    }
}
