using System.Runtime.CompilerServices;

namespace SharpMM.Hosted.Machine;

/// <summary>The non-leaf entries of one walk, top level first: at most PML4E, PDPTE, PDE.</summary>
[InlineArray(3)]
internal struct UpperEntries
{
    private EntrySnapshot _first;
}
