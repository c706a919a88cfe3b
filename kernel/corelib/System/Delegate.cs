namespace System
{
    /// <summary>The compiler needs the type to exist (operator lookup). Delegates cannot be created
    /// freestanding: use function pointers (<c>delegate*</c>).</summary>
    public abstract class Delegate
    {
    }

    /// <summary>See <see cref="Delegate"/>.</summary>
    public abstract class MulticastDelegate : Delegate
    {
    }
}
