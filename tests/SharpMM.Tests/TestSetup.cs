using System.Runtime.CompilerServices;
using SharpMM.Hosted;

namespace SharpMM.Tests;

internal static class TestSetup
{
#pragma warning disable CA2255 // the panic hook must be in place before any test touches the library
    [ModuleInitializer]
    internal static void Init()
    {
        HostedPanic.Install();
        // Every test checks the lock order: a lock taken out of order anywhere panics.
        SharpMM.Concurrency.LockOrder.Checking = true;
    }
#pragma warning restore CA2255
}
