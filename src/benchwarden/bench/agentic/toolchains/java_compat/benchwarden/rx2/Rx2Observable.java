package benchwarden.rx2;

import io.reactivex.rxjava3.core.Observable;
import io.reactivex.rxjava3.core.ObservableSource;
import io.reactivex.rxjava3.functions.Function;

/**
 * The RxJava 2 operators of Observable that RxJava 3 renamed, with RxJava 2's overloads.
 *
 * <p>Debian packages RxJava 3 only. The build maps RxJava 2's package names to RxJava 3's
 * and routes calls of the renamed operators through this class
 * ({@code x.startWith(a)} becomes {@code x.to(Rx2Observable::new).startWith(a)}), so that
 * Java picks the same overload RxJava 2 would have picked.
 */
public final class Rx2Observable<T> {
    private final Observable<T> upstream;

    public Rx2Observable(Observable<T> upstream) {
        this.upstream = upstream;
    }

    public Observable<T> startWith(T item) {
        return upstream.startWithItem(item);
    }

    public Observable<T> startWith(Iterable<? extends T> items) {
        return upstream.startWithIterable(items);
    }

    public Observable<T> startWith(ObservableSource<? extends T> other) {
        return upstream.startWith(other);
    }

    public Observable<T> onErrorResumeNext(ObservableSource<? extends T> next) {
        return upstream.onErrorResumeWith(next);
    }

    public Observable<T> onErrorResumeNext(
            Function<? super Throwable, ? extends ObservableSource<? extends T>> resume) {
        return upstream.onErrorResumeNext(resume);
    }
}
