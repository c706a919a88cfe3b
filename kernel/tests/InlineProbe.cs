using System.Runtime.CompilerServices;

namespace SharpMM.Kernel;

/// <summary>Corelib test probe: an [InlineArray] indexed by a variable.</summary>
[InlineArray(5)]
internal struct InlineProbe
{
    private ulong _first;
}
