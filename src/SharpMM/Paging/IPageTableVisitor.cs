namespace SharpMM.Paging;

/// <summary>Receives a walk of a whole address space in ascending virtual order (struct type
/// parameter: static calls, no allocation).</summary>
public interface IPageTableVisitor
{
    /// <summary>A table of <paramref name="level"/> at <paramref name="tablePhys"/>, whose
    /// entries cover virtual addresses from <paramref name="firstVa"/>; called before its
    /// entries are visited (the top-level table included).</summary>
    void Table(int level, ulong firstVa, ulong tablePhys);

    /// <summary>A leaf.</summary>
    void Leaf(in LeafMapping mapping);
}
