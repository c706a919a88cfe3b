using System.Runtime.CompilerServices;
using SharpMM.Hosted;

namespace SharpMM.Tests;

internal static class TestSetup
{
#pragma warning disable CA2255 // the panic hook must be in place before any test touches the library
    [ModuleInitializer]
    internal static void Init() => HostedPanic.Install();
#pragma warning restore CA2255
}
