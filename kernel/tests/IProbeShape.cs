namespace SharpMM.Kernel;

/// <summary>Corelib test probe: an interface with a static abstract member, used as a struct constraint.</summary>
internal interface IProbeShape
{
    static abstract int Sides { get; }
    int Scale(int x);
}
