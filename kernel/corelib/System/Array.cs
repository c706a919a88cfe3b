namespace System
{
    /// <summary>
    /// The base of every array. Arrays exist freestanding only as frozen data (static readonly
    /// arrays with constant elements, which ilc preinitialises into the image) or, once the
    /// kernel heap hook is set, through RhpNewArray. Layout is fixed by ilc:
    /// [MethodTable*][int length][int pad][elements...].
    /// </summary>
    public abstract class Array
    {
#pragma warning disable 0169, 0649
        private int _numComponents;
#pragma warning restore 0169, 0649

        /// <summary>Number of elements.</summary>
        public int Length => _numComponents;
    }

    /// <summary>ilc's canonical base for single-dimensional arrays of <typeparamref name="T"/>.</summary>
    public class Array<T> : Array
    {
    }
}
