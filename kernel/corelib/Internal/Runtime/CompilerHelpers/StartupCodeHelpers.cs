namespace Internal.Runtime.CompilerHelpers
{
    /// <summary>ilc requires this class to exist (it looks for optional startup helpers in it).
    /// The kernel does its own start-up: kmain is entered from the boot stub.</summary>
    internal static class StartupCodeHelpers
    {
    }
}
