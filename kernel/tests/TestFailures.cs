using System.Runtime.CompilerServices;

namespace SharpMM.Kernel;

/// <summary>Room for the first <see cref="TestContext.MaxRecorded"/> failed checks of one test.</summary>
[InlineArray(TestContext.MaxRecorded)]
internal struct TestFailures
{
    private TestFailure _first;
}
