using System.Runtime.CompilerServices;

namespace SharpMM.Paging;

/// <summary>How many tables and leaves an address space has at each level; filled by
/// <c>Mapper.Census</c>.</summary>
public struct TableCensus : IPageTableVisitor
{
    [InlineArray(PageWalk.MaxSteps)]
    private struct Counts { private ulong _e0; }

    private Counts _tables;
    private Counts _leaves;

    /// <summary>Tables at <paramref name="level"/> (the top-level table counts as one).</summary>
    public readonly ulong Tables(int level) => (uint)level < PageWalk.MaxSteps ? _tables[level] : 0;
    /// <summary>Leaves at <paramref name="level"/>.</summary>
    public readonly ulong Leaves(int level) => (uint)level < PageWalk.MaxSteps ? _leaves[level] : 0;

    /// <summary>Tables at every level.</summary>
    public readonly ulong TotalTables
    {
        get
        {
            ulong n = 0;
            for (int i = 0; i < PageWalk.MaxSteps; i++) n += _tables[i];
            return n;
        }
    }

    /// <summary>Leaves at every level.</summary>
    public readonly ulong TotalLeaves
    {
        get
        {
            ulong n = 0;
            for (int i = 0; i < PageWalk.MaxSteps; i++) n += _leaves[i];
            return n;
        }
    }

    /// <inheritdoc/>
    public void Table(int level, ulong firstVa, ulong tablePhys) => _tables[level]++;

    /// <inheritdoc/>
    public void Leaf(in LeafMapping mapping) => _leaves[LevelOf(mapping.Size)]++;

    // Every format puts 4 KiB leaves at level 0, 2 MiB and 4 MiB at level 1, 1 GiB at level 2.
    private static int LevelOf(MappingSize size) => size switch
    {
        MappingSize.Size4KiB => 0,
        MappingSize.Size2MiB => 1,
        MappingSize.Size4MiB => 1,
        _ => 2,
    };
}
