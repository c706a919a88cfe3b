namespace SharpMM.Kernel;

/// <summary>Corelib test probe: implements <see cref="IProbeShape"/>.</summary>
internal readonly struct TriangleProbe : IProbeShape
{
    public static int Sides => 3;
    public int Scale(int x) => x * Sides;
}
